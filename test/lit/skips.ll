; Functions that never get hooks, whatever the options say.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s

; Only @plain is instrumented: the table has one row.
; CHECK: @__zinst_functions = private constant [1 x { ptr, ptr, ptr, i32, i32 }]
; CHECK: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 1,

; A declaration stays a declaration.
; CHECK: declare void @external()
declare void @external()

; naked: the body owns the stack; no hook.
define void @naked_function() naked {
; CHECK-LABEL: define void @naked_function(
; CHECK-NEXT:    call void asm sideeffect "ret", ""()
; CHECK-NEXT:    unreachable
  call void asm sideeffect "ret", ""()
  unreachable
}

; available_externally: a copy for the optimizer, the owner instruments it.
define available_externally i32 @inline_copy(i32 %x) {
; CHECK-LABEL: define available_externally i32 @inline_copy(
; CHECK-NEXT:    %y = add i32 %x, 1
; CHECK-NEXT:    ret i32 %y
  %y = add i32 %x, 1
  ret i32 %y
}

; The runtime's own functions (and the pass's ctor/dtor).
define void @__zinst_runtime_helper() {
; CHECK-LABEL: define void @__zinst_runtime_helper(
; CHECK-NEXT:    ret void
  ret void
}

; A sanitizer's start-up callback, defined by the program.
define ptr @__asan_default_options() {
; CHECK-LABEL: define ptr @__asan_default_options(
; CHECK-NEXT:    ret ptr null
  ret ptr null
}

define void @plain() {
; CHECK-LABEL: define void @plain(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    call void @external()
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    ret void
  call void @external()
  ret void
}

; Already carries the marker of an earlier run.
define void @marked() "zinst-instrumented" {
; CHECK-LABEL: define void @marked(
; CHECK-NEXT:    ret void
  ret void
}

; The ctor and dtor the pass emits are not instrumented either.
; CHECK-LABEL: define internal void @__zinst_ctor(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    call void @__zinst_register_module(ptr @__zinst_module)
; CHECK-NEXT:    ret void
; CHECK-LABEL: define internal void @__zinst_dtor(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    call void @__zinst_unregister_module(ptr @__zinst_module)
; CHECK-NEXT:    ret void

; A module with nothing to instrument is left exactly as it was: no table,
; no ctor, no hook declarations.
; RUN: %opt -S %s -o %t.plain.ll
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include=nothing_matches -S %s -o %t.none.ll
; RUN: diff %t.plain.ll %t.none.ll
