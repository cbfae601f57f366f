; Entry and exit hooks: one enter at the top of the entry block, one exit
; before every ret. The index is the function's row in the module table.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s

; CHECK: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 4, ptr @__zinst_functions,

define i32 @two_returns(i32 %x) {
; CHECK-LABEL: define i32 @two_returns(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    %cmp = icmp sgt i32 %x, 0
; CHECK-NEXT:    br i1 %cmp, label %pos, label %neg
; CHECK:       pos:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 1
; CHECK:       neg:
; CHECK-NEXT:    %r = sub i32 0, %x
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %r
entry:
  %cmp = icmp sgt i32 %x, 0
  br i1 %cmp, label %pos, label %neg
pos:
  ret i32 1
neg:
  %r = sub i32 0, %x
  ret i32 %r
}

; Allocas stay in the entry block (still static); the enter call comes first.
define void @with_alloca() {
; CHECK-LABEL: define void @with_alloca(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    %slot = alloca i32
; CHECK-NEXT:    store volatile i32 1, ptr %slot
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    ret void
  %slot = alloca i32
  store volatile i32 1, ptr %slot
  ret void
}

; A loop whose header is the entry block's successor; an `unreachable` path
; leaves no exit hook (nothing returns there).
define i32 @loop(i32 %n) {
; CHECK-LABEL: define i32 @loop(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 2, ptr [[FRAME]])
; CHECK-NEXT:    br label %head
; CHECK:       head:
; CHECK-NOT:     @__zinst_exit
; CHECK:       trap:
; CHECK-NEXT:    unreachable
; CHECK:       done:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 2, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %i
entry:
  br label %head
head:
  %i = phi i32 [ 0, %entry ], [ %next, %head ]
  %next = add i32 %i, 1
  %more = icmp slt i32 %next, %n
  br i1 %more, label %head, label %check
check:
  %bad = icmp slt i32 %n, 0
  br i1 %bad, label %trap, label %done
trap:
  unreachable
done:
  ret i32 %i
}

; Exactly one enter per function, and no more exits than the returns above.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | grep -c 'call void @__zinst_enter' | FileCheck %s --check-prefix=ENTERS
; ENTERS: {{^}}4{{$}}
; RUN: %opt-zinst-hooks -passes=zinst -S %s | grep -c 'call void @__zinst_exit' | FileCheck %s --check-prefix=EXITS
; EXITS: {{^}}5{{$}}

; CHECK: declare void @__zinst_enter(ptr, i32, ptr) [[HOOK_ATTRS:#[0-9]+]]
; CHECK: declare void @__zinst_exit(ptr, i32, ptr) [[HOOK_ATTRS]]
; CHECK: attributes [[HOOK_ATTRS]] = { nounwind }

; Attributes the hooks break are dropped: the hooks touch memory and may
; synchronize or free; norecurse, nounwind and willreturn still hold.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefix=ATTRS
; ATTRS: define i32 @pure(i32 %x) [[PURE_ATTRS:#[0-9]+]] {
; ATTRS: attributes [[PURE_ATTRS]] = { norecurse nounwind willreturn "zinst-instrumented" }
define i32 @pure(i32 %x) #0 {
  %y = mul i32 %x, %x
  ret i32 %y
}
attributes #0 = { nofree norecurse nosync nounwind willreturn memory(none) }
