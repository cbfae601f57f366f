; optnone functions (all of them at -O0) are instrumented by the -O0
; pipeline and by the optimizing ones: the pass is required.
; RUN: %opt-zinst-hooks -passes='default<O0>' -S %s | FileCheck %s
; RUN: %opt-zinst-hooks -passes='default<O2>' -S %s | FileCheck %s

; CHECK-LABEL: define i32 @unoptimized(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK:         [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    ret i32
define i32 @unoptimized(i32 %x) noinline optnone {
  %slot = alloca i32
  store i32 %x, ptr %slot
  %v = load i32, ptr %slot
  ret i32 %v
}
