; -zinst-inline-time: the inline tree, and the inline code keeps each
; context's timing schedule (runtime/zinst_abi.h, ZINST_MODULE_INLINE_TIME):
; every call counts down the context's untimed_left (offset 8), and the one
; that brings it below 0 calls the runtime, which picks the stratum and the
; next timed call; the others cost the decrement and a branch on its sign.
; A due call and a miss share one cold block and one call of the runtime
; (__zinst_context_miss_or_due: the found context, or null after a miss, when
; the runtime counts the call down and times it if it is due; the code after
; it tests nothing). Only timed ones call the runtime, and every way out calls the timed
; exit, before the context is put back, when the runtime's innermost timed
; frame (__zinst_timed_frame) is the function's own or deeper (abandoned):
; no flag stays live across the body. The module is flagged INLINE_TREE |
; INLINE_TIME (3). It is the default build.
; RUN: %opt-zinst -passes=zinst -S %s | FileCheck %s
; RUN: %opt-zinst -passes=zinst -zinst-inline-time -S %s | FileCheck %s
; RUN: env ZINST_INLINE_TREE=time %opt-zinst -passes=zinst -S %s | FileCheck %s
; And a second run changes nothing (the functions are marked instrumented).
; RUN: %opt-zinst -passes=zinst -zinst-inline-time %s -o - \
; RUN:   | %opt-zinst -passes=zinst -zinst-inline-time -S - | FileCheck %s
; A bad value of the variable is an error that names it.
; RUN: env ZINST_INLINE_TREE=sometimes not %opt-zinst -passes=zinst -S %s -o /dev/null 2>&1 \
; RUN:   | FileCheck %s --check-prefix=BAD
; BAD: zinst: bad value 'sometimes' for ZINST_INLINE_TREE: expected time, 1/true/yes/on (no time) or 0/false/no/off (the hooks)

target triple = "x86_64-unknown-linux-gnu"

; CHECK: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 4, ptr @__zinst_functions, ptr {{@__zinst_str[.0-9]*}}, i32 -2147483648, i32 0, i32 0, i32 0, ptr null, i32 3, i32 0, ptr @__zinst_function_ids }
; CHECK: @__zinst_timed_frame = external dso_local thread_local(initialexec) global i64
; CHECK-NOT: @__zinst_countdown
; CHECK-NOT: @__zinst_enter

declare void @g()

define i32 @two_returns(i32 %x) {
; CHECK-LABEL: define i32 @two_returns(
; CHECK:       zinst.found:
; CHECK-NEXT:    %zinst.child = phi ptr [ %zinst.first, %entry ]
; CHECK-NEXT:    %zinst.calls = load i64, ptr %zinst.child, align 8
; CHECK-NEXT:    [[PLUS:%[0-9]+]] = add i64 %zinst.calls, 1
; CHECK-NEXT:    store i64 [[PLUS]], ptr %zinst.child, align 8
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.child, ptr [[TLS]], align 8
; CHECK-NEXT:    [[LEFTP:%[0-9]+]] = getelementptr inbounds i8, ptr %zinst.child, i64 8
; CHECK-NEXT:    %zinst.untimed.left = load i64, ptr [[LEFTP]], align 8
; CHECK-NEXT:    %zinst.untimed.next = add i64 %zinst.untimed.left, -1
; CHECK-NEXT:    store i64 %zinst.untimed.next, ptr [[LEFTP]], align 8
; CHECK-NEXT:    %zinst.due = icmp slt i64 %zinst.untimed.next, 0
; CHECK-NEXT:    br i1 %zinst.due, label %zinst.slow, label %zinst.entered, !prof [[RARE:![0-9]+]]
; CHECK:       zinst.slow:
; CHECK-NEXT:    %zinst.due.context = phi ptr [ %zinst.child, %zinst.found ], [ null, %entry ]
; CHECK-NEXT:    [[FRAME:%[0-9]+]] = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    %zinst.restore = call preserve_mostcc ptr @__zinst_context_miss_or_due(ptr @__zinst_module, i32 0, ptr %zinst.current, ptr %zinst.due.context, ptr [[FRAME]])
; CHECK-NEXT:    br label %zinst.entered
; CHECK:       zinst.entered:
; CHECK-NEXT:    %zinst.saved = phi ptr [ %zinst.current, %zinst.found ], [ %zinst.restore, %zinst.slow ]
; CHECK-NEXT:    %cmp = icmp sgt i32 %x, 0
; CHECK:       pos:
; CHECK-NEXT:    call void @g()
; CHECK-NEXT:    [[TFP:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_timed_frame)
; CHECK-NEXT:    [[TF:%zinst.timed.frame[0-9]*]] = load i64, ptr [[TFP]], align 8
; CHECK-NEXT:    [[FRAME:%[0-9]+]] = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    [[FRAMEI:%[0-9]+]] = ptrtoint ptr [[FRAME]] to i64
; CHECK-NEXT:    [[ISTIMED:%zinst.timed.exit[0-9]*]] = icmp ule i64 [[TF]], [[FRAMEI]]
; CHECK-NEXT:    br i1 [[ISTIMED]], label %[[CLOSE:[0-9]+]], label %[[RESTORE:[0-9]+]], !prof [[RARE]]
; CHECK:       [[CLOSE]]:
; CHECK-NEXT:    call preserve_mostcc void @__zinst_timed_exit(ptr [[FRAME]])
; CHECK-NEXT:    br label %[[RESTORE]]
; CHECK:       [[RESTORE]]:
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
; CHECK-NEXT:    ret i32 1
; CHECK:       neg:
; CHECK:         call preserve_mostcc void @__zinst_timed_exit(ptr
; CHECK:         store ptr %zinst.saved, ptr
; CHECK-NEXT:    ret i32 %r
entry:
  %cmp = icmp sgt i32 %x, 0
  br i1 %cmp, label %pos, label %neg
pos:
  call void @g()
  ret i32 1
neg:
  %r = sub i32 0, %x
  ret i32 %r
}

; Where an exception or a longjmp comes back into the function (a landing
; pad, a return of setjmp), after its context is set again: the timed frames
; of the calls they skipped end there, below the function's own frame.
declare i32 @setjmp(ptr) returns_twice
declare void @may_throw()
declare i32 @__gxx_personality_v0(...)

define i32 @jumps(ptr %buf) {
; CHECK-LABEL: define i32 @jumps(
; CHECK:         %r = call i32 @setjmp(ptr %buf)
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.context, ptr [[TLS]], align 8
; CHECK-NEXT:    [[FRAME:%[0-9]+]] = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    call preserve_mostcc void @__zinst_timed_reenter(ptr [[FRAME]])
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_timed_frame)
entry:
  %r = call i32 @setjmp(ptr %buf)
  ret i32 %r
}

define void @catches() personality ptr @__gxx_personality_v0 {
; CHECK-LABEL: define void @catches(
; CHECK:       pad:
; CHECK-NEXT:    %lp = landingpad { ptr, i32 }
; CHECK-NEXT:            catch ptr null
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.context, ptr [[TLS]], align 8
; CHECK-NEXT:    [[FRAME:%[0-9]+]] = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    call preserve_mostcc void @__zinst_timed_reenter(ptr [[FRAME]])
entry:
  invoke void @may_throw() to label %ok unwind label %pad
ok:
  ret void
pad:
  %lp = landingpad { ptr, i32 } catch ptr null
  ret void
}

; A leaf (it calls nothing) is timed alike, and stores no context but the
; one the runtime's call returns (a miss made its own current): after the
; timed exit's test, it returns. Its second slot is a third way to %slow.
define i32 @leaf(i32 %x) {
; CHECK-LABEL: define i32 @leaf(
; CHECK:       zinst.slow:
; CHECK-NEXT:    %zinst.due.context = phi ptr [ %zinst.child, %zinst.found ], [ null, %zinst.second ]
; CHECK-NEXT:    [[FRAME:%[0-9]+]] = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    %zinst.restore = call preserve_mostcc ptr @__zinst_context_miss_or_due(ptr @__zinst_module, i32 3, ptr %zinst.current, ptr %zinst.due.context, ptr [[FRAME]])
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.restore, ptr [[TLS]], align 8
; CHECK-NEXT:    br label %zinst.entered
; CHECK:       zinst.entered:
; CHECK-NEXT:    %r = add i32 %x, 1
; CHECK-NEXT:    [[TFP:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_timed_frame)
; CHECK:         br i1 {{%zinst.timed.exit[0-9]*}}, label %[[CLOSE:[0-9]+]], label %[[OUT:[0-9]+]], !prof [[RARE]]
; CHECK:       [[CLOSE]]:
; CHECK-NEXT:    call preserve_mostcc void @__zinst_timed_exit(ptr
; CHECK-NEXT:    br label %[[OUT]]
; CHECK:       [[OUT]]:
; CHECK-NEXT:    ret i32 %r
entry:
  %r = add i32 %x, 1
  ret i32 %r
}

; CHECK: declare preserve_mostcc ptr @__zinst_context_miss_or_due(ptr, i32, ptr, ptr, ptr) #[[COLD:[0-9]+]]
; CHECK-NOT: @__zinst_timed_enter
; CHECK: declare preserve_mostcc void @__zinst_timed_exit(ptr) #[[COLD]]
; CHECK: declare preserve_mostcc void @__zinst_timed_reenter(ptr) #[[COLD]]
; CHECK: attributes #[[COLD]] = { cold nounwind nonlazybind }
; CHECK: [[RARE]] = !{!"branch_weights", {{(!"expected", )?}}i32 1, i32 1048576}
