; -zinst-inline-tree: no hook calls; each function keeps the calling-context
; tree in inline code (pass/InlineContextTree.h, runtime/zinst_abi.h). The
; module is flagged ZINST_MODULE_INLINE_TREE (its 10th field, 1).
; RUN: %opt-zinst -passes=zinst -zinst-inline-tree -S %s | FileCheck %s
; RUN: env ZINST_INLINE_TREE=1 %opt-zinst -passes=zinst -S %s | FileCheck %s
; And a second run changes nothing (the functions are marked instrumented).
; RUN: %opt-zinst -passes=zinst -zinst-inline-tree %s -o - \
; RUN:   | %opt-zinst -passes=zinst -zinst-inline-tree -S - | FileCheck %s

; Until the runtime registers the module, its ids are 2^31 + index, which no
; node has: the lookup misses, and the miss registers it.
; CHECK: @__zinst_function_ids = internal global [11 x i32] [i32 -2147483648, i32 -2147483647, i32 -2147483646, i32 -2147483645, i32 -2147483644, i32 -2147483643, i32 -2147483642, i32 -2147483641, i32 -2147483640, i32 -2147483639, i32 -2147483638]
; CHECK: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 11, ptr @__zinst_functions, ptr {{@__zinst_str[.0-9]*}}, i32 -2147483648, i32 0, i32 0, i32 0, ptr null, i32 1, i32 0, ptr @__zinst_function_ids }
; CHECK: @__zinst_context = external dso_local thread_local(initialexec) global ptr
; CHECK-NOT: @__zinst_enter
; CHECK-NOT: @__zinst_exit

declare i32 @setjmp(ptr) returns_twice
declare void @may_throw()
declare i32 @__gxx_personality_v0(...)
declare void @g()

; Entry: load the context, its recent child in the first slot of the
; function's id and that child's function (at offset 20); a hit counts in
; the child and makes it current, a miss calls the runtime's preserve_most
; slow path. No test for registration: an unregistered module's ids
; (2^31 + index, above) match no node. The second slot, the id's next three
; bits, is this function's first (index 0), so there is no second probe
; (see @ninth). Every ret puts the saved context back. (It calls @g: a
; function that calls nothing leaves its caller's context current, @leaf.)
define i32 @two_returns(i32 %x) {
; CHECK-LABEL: define i32 @two_returns(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    %zinst.current = load ptr, ptr [[TLS]], align 8
; The function's id: the module's array holds id_base + index, written by
; the runtime at registration; one load (index 0: the array's first word).
; CHECK-NEXT:    %zinst.id = load atomic i32, ptr @__zinst_function_ids monotonic, align 4
; The first slot: id & 7, which is the index's low bits (id_base is a
; multiple of 64), a constant: slot 0 at offset 64 (the next functions' are
; at 72, 80 and 88).
; CHECK-NEXT:    [[FIRSTP:%[0-9]+]] = getelementptr inbounds i8, ptr %zinst.current, i64 64
; CHECK-NEXT:    %zinst.first = load atomic ptr, ptr [[FIRSTP]] monotonic, align 8
; CHECK-NEXT:    [[FNP:%[0-9]+]] = getelementptr inbounds i8, ptr %zinst.first, i64 20
; CHECK-NEXT:    [[FN:%[0-9]+]] = load i32, ptr [[FNP]], align 4
; CHECK-NEXT:    %zinst.hit = icmp eq i32 [[FN]], %zinst.id
; CHECK-NEXT:    br i1 %zinst.hit, label %zinst.found, label %zinst.miss, !prof [[WEIGHTS:![0-9]+]]
; CHECK-NOT:   zinst.second
; CHECK:       zinst.found:
; CHECK-NEXT:    %zinst.child = phi ptr [ %zinst.first, %entry ]
; CHECK-NEXT:    %zinst.calls = load i64, ptr %zinst.child, align 8
; CHECK-NEXT:    [[PLUS:%[0-9]+]] = add i64 %zinst.calls, 1
; CHECK-NEXT:    store i64 [[PLUS]], ptr %zinst.child, align 8
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.child, ptr [[TLS]], align 8
; CHECK-NEXT:    br label %zinst.entered
; CHECK:       zinst.miss:
; CHECK-NEXT:    %zinst.restore = call preserve_mostcc ptr @__zinst_context_miss(ptr @__zinst_module, i32 0, ptr %zinst.current)
; CHECK-NEXT:    br label %zinst.entered
; What every way out puts back: the caller's context, or after a miss what
; the runtime says (the thread's own root in place of the shared
; no-context node, so that calls from uninstrumented code hit after their
; first).
; CHECK:       zinst.entered:
; CHECK-NEXT:    %zinst.saved = phi ptr [ %zinst.current, %zinst.found ], [ %zinst.restore, %zinst.miss ]
; CHECK-NEXT:    %cmp = icmp sgt i32 %x, 0
; CHECK:       pos:
; CHECK-NEXT:    call void @g()
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
; CHECK-NEXT:    ret i32 1
; CHECK:       neg:
; CHECK-NEXT:    %r = sub i32 0, %x
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
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

; The entry block is split after its static allocas, all moved to its top
; (one below the split would become a dynamic alloca).
define void @with_alloca() {
; CHECK-LABEL: define void @with_alloca(
; CHECK-NEXT:    %slot = alloca i32
; CHECK-NEXT:    %late = alloca i64
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK:         getelementptr inbounds i8, ptr %zinst.current, i64 72
; CHECK:         call preserve_mostcc ptr @__zinst_context_miss(ptr @__zinst_module, i32 1,
; CHECK:         store volatile i32 1, ptr %slot
; CHECK-NEXT:    call void @g()
; CHECK-NEXT:    store volatile i64 2, ptr %late
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
; CHECK-NEXT:    ret void
  %slot = alloca i32
  store volatile i32 1, ptr %slot
  call void @g()
  %late = alloca i64
  store volatile i64 2, ptr %late
  ret void
}

; After a call that returns twice, the function's own context again: a
; longjmp back to it skipped the restores of the frames in between.
define i32 @jumps(ptr %buf) {
; CHECK-LABEL: define i32 @jumps(
; CHECK:         getelementptr inbounds i8, ptr %zinst.current, i64 80
; The miss made the function's context current: it is read back from there.
; CHECK:         %zinst.restore = call preserve_mostcc ptr @__zinst_context_miss(ptr @__zinst_module, i32 2,
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    %zinst.new.context = load ptr, ptr [[TLS]], align 8
; CHECK:         %zinst.saved = phi ptr [ %zinst.current, %zinst.found ], [ %zinst.restore, %zinst.miss ]
; CHECK-NEXT:    %zinst.context = phi ptr [ %zinst.child, %zinst.found ], [ %zinst.new.context, %zinst.miss ]
; CHECK-NEXT:    %r = call i32 @setjmp(ptr %buf)
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.context, ptr [[TLS]], align 8
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
; CHECK-NEXT:    ret i32 %r
entry:
  %r = call i32 @setjmp(ptr %buf)
  ret i32 %r
}

; At a landing pad too: the exception skipped the callees' restores.
define void @catches() personality ptr @__gxx_personality_v0 {
; CHECK-LABEL: define void @catches(
; CHECK:       pad:
; CHECK-NEXT:    %lp = landingpad { ptr, i32 }
; CHECK-NEXT:            catch ptr null
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.context, ptr [[TLS]], align 8
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
; CHECK-NEXT:    ret void
entry:
  invoke void @may_throw() to label %ok unwind label %pad
ok:
  ret void
pad:
  %lp = landingpad { ptr, i32 } catch ptr null
  ret void
}

; Functions 4 to 8, to reach an index whose two slots differ.
define void @fifth() {
  ret void
}
define void @sixth() {
  ret void
}
define void @seventh() {
  ret void
}
define void @eighth() {
  ret void
}

; Index 8: the first slot is 0 (offset 64), the second, (8 >> 3) & 7, is 1
; (offset 72), both constants; a miss in the first probes the second.
define void @ninth() {
; CHECK-LABEL: define void @ninth(
; CHECK:         %zinst.first = load atomic ptr, ptr {{%[0-9]+}} monotonic, align 8
; CHECK:         %zinst.hit = icmp eq i32 {{%[0-9]+}}, %zinst.id
; CHECK-NEXT:    br i1 %zinst.hit, label %zinst.found, label %zinst.second, !prof [[WEIGHTS]]
; CHECK:       zinst.second:
; CHECK-NEXT:    [[SECONDP:%[0-9]+]] = getelementptr inbounds i8, ptr %zinst.current, i64 72
; CHECK-NEXT:    %zinst.second.child = load atomic ptr, ptr [[SECONDP]] monotonic, align 8
; CHECK-NEXT:    [[FNP2:%[0-9]+]] = getelementptr inbounds i8, ptr %zinst.second.child, i64 20
; CHECK-NEXT:    [[FN2:%[0-9]+]] = load i32, ptr [[FNP2]], align 4
; CHECK-NEXT:    %zinst.hit2 = icmp eq i32 [[FN2]], %zinst.id
; CHECK-NEXT:    br i1 %zinst.hit2, label %zinst.found, label %zinst.miss, !prof [[WEIGHTS]]
; CHECK:       zinst.found:
; CHECK-NEXT:    %zinst.child = phi ptr [ %zinst.first, %entry ], [ %zinst.second.child, %zinst.second ]
; CHECK:       zinst.miss:
; CHECK-NEXT:    %zinst.restore = call preserve_mostcc ptr @__zinst_context_miss(ptr @__zinst_module, i32 8, ptr %zinst.current)
entry:
  ret void
}

; A leaf (index 9: slots 1 and 1, one probe at offset 72) calls nothing, so
; no function reads the context while it runs: it counts its call in its
; own context and leaves its caller's current. No store at entry, none on
; the way out; a miss, after which the runtime made the new context current,
; puts back the context the runtime returns. Intrinsics are not calls.
declare i32 @llvm.smax.i32(i32, i32)
define i32 @leaf(i32 %x) {
; CHECK-LABEL: define i32 @leaf(
; CHECK:         %zinst.id = load atomic i32, ptr getelementptr inbounds {{(nuw )?}}([11 x i32], ptr @__zinst_function_ids, i64 0, i64 9) monotonic, align 4
; CHECK:         getelementptr inbounds i8, ptr %zinst.current, i64 72
; CHECK:         br i1 %zinst.hit, label %zinst.found, label %zinst.miss, !prof [[WEIGHTS]]
; CHECK:       zinst.found:
; CHECK-NEXT:    %zinst.child = phi ptr [ %zinst.first, %entry ]
; CHECK-NEXT:    %zinst.calls = load i64, ptr %zinst.child, align 8
; CHECK-NEXT:    [[PLUS:%[0-9]+]] = add i64 %zinst.calls, 1
; CHECK-NEXT:    store i64 [[PLUS]], ptr %zinst.child, align 8
; CHECK-NEXT:    br label %zinst.entered
; CHECK:       zinst.miss:
; CHECK-NEXT:    %zinst.restore = call preserve_mostcc ptr @__zinst_context_miss(ptr @__zinst_module, i32 9, ptr %zinst.current)
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.restore, ptr [[TLS]], align 8
; CHECK-NEXT:    br label %zinst.entered
; CHECK:       zinst.entered:
; CHECK-NEXT:    %m = call i32 @llvm.smax.i32(i32 %x, i32 0)
; CHECK-NEXT:    ret i32 %m
entry:
  %m = call i32 @llvm.smax.i32(i32 %x, i32 0)
  ret i32 %m
}

; memcpy is an intrinsic that may become a call of a memcpy that the program
; defines and zinst instruments: not a leaf.
declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)
define void @copies(ptr %d, ptr %s) {
; CHECK-LABEL: define void @copies(
; CHECK:       zinst.found:
; CHECK:         store ptr %zinst.child, ptr {{%[0-9]+}}, align 8
; CHECK:         call void @llvm.memcpy.p0.p0.i64(ptr %d, ptr %s, i64 64, i1 false)
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_context)
; CHECK-NEXT:    store ptr %zinst.saved, ptr [[TLS]], align 8
; CHECK-NEXT:    ret void
entry:
  call void @llvm.memcpy.p0.p0.i64(ptr %d, ptr %s, i64 64, i1 false)
  ret void
}

; The slow path is the runtime's preserve_most entry point (x86-64, AArch64),
; nonlazybind: a lazily bound PLT entry's resolver would clobber registers
; that a preserve_most caller keeps (in a shared library).
; CHECK: declare preserve_mostcc ptr @__zinst_context_miss(ptr, i32, ptr) #[[COLD:[0-9]+]]
; CHECK: attributes #[[COLD]] = { cold nounwind nonlazybind }
; CHECK: [[WEIGHTS]] = !{!"branch_weights", {{(!"expected", )?}}i32 1048576, i32 1}
