; Exits before calls in tail position, so the hook runs where the CPU really
; leaves the caller and the backend can still emit the sibling call.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s

declare i32 @callee(i32)
declare void @void_callee(i32)

; `tail call` whose result is returned: exit before the call.
define i32 @tail_value(i32 %x) {
; CHECK-LABEL: define i32 @tail_value(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    %r = tail call i32 @callee(i32 %x)
; CHECK-NEXT:    ret i32 %r
  %r = tail call i32 @callee(i32 %x)
  ret i32 %r
}

; `tail call` followed by `ret void`: exit before the call.
define void @tail_void(i32 %x) {
; CHECK-LABEL: define void @tail_void(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    tail call void @void_callee(i32 %x)
; CHECK-NEXT:    ret void
  tail call void @void_callee(i32 %x)
  ret void
}

; The result is ignored and the caller returns void: still a tail position.
define void @tail_ignored_result(i32 %x) {
; CHECK-LABEL: define void @tail_ignored_result(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 2, ptr [[FRAME]])
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 2, ptr [[FRAME]])
; CHECK-NEXT:    %unused = tail call i32 @callee(i32 %x)
; CHECK-NEXT:    ret void
  %unused = tail call i32 @callee(i32 %x)
  ret void
}

; Marked `tail` but its result is used afterwards: not in tail position.
define i32 @tail_not_in_tail_position(i32 %x) {
; CHECK-LABEL: define i32 @tail_not_in_tail_position(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 3, ptr [[FRAME]])
; CHECK-NEXT:    %r = tail call i32 @callee(i32 %x)
; CHECK-NEXT:    %s = add i32 %r, 1
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 3, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %s
  %r = tail call i32 @callee(i32 %x)
  %s = add i32 %r, 1
  ret i32 %s
}

; Marked `tail` and directly before the ret, but another value is returned.
define i32 @tail_returns_other_value(i32 %x) {
; CHECK-LABEL: define i32 @tail_returns_other_value(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 4, ptr [[FRAME]])
; CHECK-NEXT:    %r = tail call i32 @callee(i32 %x)
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 4, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %x
  %r = tail call i32 @callee(i32 %x)
  ret i32 %x
}

; A call in tail position without the `tail` marker: the backend will not
; emit a sibling call, so the exit stays before the ret.
define i32 @plain_call(i32 %x) {
; CHECK-LABEL: define i32 @plain_call(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 5, ptr [[FRAME]])
; CHECK-NEXT:    %r = call i32 @callee(i32 %x)
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 5, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %r
  %r = call i32 @callee(i32 %x)
  ret i32 %r
}

; `notail` forbids the sibling call.
define i32 @notail_call(i32 %x) {
; CHECK-LABEL: define i32 @notail_call(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 6, ptr [[FRAME]])
; CHECK-NEXT:    %r = notail call i32 @callee(i32 %x)
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 6, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %r
  %r = notail call i32 @callee(i32 %x)
  ret i32 %r
}

; musttail: the call must stay directly before its ret; exit before it.
define i32 @must_tail(i32 %x) {
; CHECK-LABEL: define i32 @must_tail(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 7, ptr [[FRAME]])
; CHECK-NEXT:    %y = add i32 %x, 1
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 7, ptr [[FRAME]])
; CHECK-NEXT:    %r = musttail call i32 @callee(i32 %y)
; CHECK-NEXT:    ret i32 %r
  %y = add i32 %x, 1
  %r = musttail call i32 @callee(i32 %y)
  ret i32 %r
}

; musttail in one branch, a plain return in the other.
define i32 @must_tail_branch(i32 %x) {
; CHECK-LABEL: define i32 @must_tail_branch(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 8, ptr [[FRAME]])
; CHECK:       recurse:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 8, ptr [[FRAME]])
; CHECK-NEXT:    %r = musttail call i32 @must_tail_branch(i32 %dec)
; CHECK-NEXT:    ret i32 %r
; CHECK:       base:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 8, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 0
entry:
  %dec = sub i32 %x, 1
  %stop = icmp eq i32 %x, 0
  br i1 %stop, label %base, label %recurse
recurse:
  %r = musttail call i32 @must_tail_branch(i32 %dec)
  ret i32 %r
base:
  ret i32 0
}

; A tail-marked intrinsic is no call to a user function: exit before the ret.
declare void @llvm.donothing()
define void @tail_intrinsic() {
; CHECK-LABEL: define void @tail_intrinsic(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 9, ptr [[FRAME]])
; CHECK-NEXT:    tail call void @llvm.donothing()
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 9, ptr [[FRAME]])
; CHECK-NEXT:    ret void
  tail call void @llvm.donothing()
  ret void
}

; Inline assembly is not a call either.
define void @tail_inline_asm() {
; CHECK-LABEL: define void @tail_inline_asm(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 10, ptr [[FRAME]])
; CHECK-NEXT:    tail call void asm sideeffect "nop", ""()
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 10, ptr [[FRAME]])
; CHECK-NEXT:    ret void
  tail call void asm sideeffect "nop", ""()
  ret void
}
