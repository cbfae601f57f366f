; The hooks' third argument is the function's canonical frame address, the
; same for every function called from the same place: on x86-64 the address
; of the return address slot, on AArch64 the stack pointer at entry. Each
; hook gets its own computation, one add to the stack pointer, which forces
; no frame pointer. Other targets are refused with a clear error.
; RUN: %opt-zinst-hooks -mtriple=x86_64-unknown-linux-gnu -passes=zinst -S %s | FileCheck %s --check-prefixes=IR,X86-IR
; RUN: %opt-zinst-hooks -mtriple=aarch64-unknown-linux-gnu -passes=zinst -S %s | FileCheck %s --check-prefixes=IR,A64-IR
; RUN: %opt-zinst-hooks -mtriple=x86_64-unknown-linux-gnu -passes=zinst %s -o - | %llc -O2 -o - | FileCheck %s --check-prefix=X86
; RUN: %opt-zinst-hooks -mtriple=aarch64-unknown-linux-gnu -passes=zinst %s -o - | %llc -O2 -o - | FileCheck %s --check-prefix=A64
; RUN: not %opt-zinst-hooks -mtriple=riscv64-unknown-linux-gnu -passes=zinst -disable-output %s 2>&1 | FileCheck %s --check-prefix=OTHER

declare i64 @callee(i64)

define i64 @saves_registers(i64 %x, i64 %y) {
  %a = call i64 @callee(i64 %x)
  %b = call i64 @callee(i64 %y)
  %s = add i64 %a, %b
  %t = add i64 %s, %x
  %u = add i64 %t, %y
  ret i64 %u
}

; IR-LABEL:    define i64 @saves_registers(
; X86-IR-NEXT:   [[ENTER_FRAME:%zinst.frame]] = call ptr @llvm.addressofreturnaddress.p0()
; A64-IR-NEXT:   [[ENTER_FRAME:%zinst.frame]] = call ptr @llvm.sponentry.p0()
; IR-NEXT:       call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[ENTER_FRAME]])
; X86-IR:        [[EXIT_FRAME:%zinst.frame1]] = call ptr @llvm.addressofreturnaddress.p0()
; A64-IR:        [[EXIT_FRAME:%zinst.frame1]] = call ptr @llvm.sponentry.p0()
; IR-NEXT:       call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[EXIT_FRAME]])
; IR-NEXT:       ret i64

; x86-64: rsp + frame size, no rbp set-up. (Within one block the backend
; computes it once for both hooks and may keep it in a register.)
; X86-LABEL: saves_registers:
; X86-NOT:   %rbp
; X86:       leaq {{[0-9]+}}(%rsp), {{%r[a-z0-9]+}}
; X86-NOT:   %rbp
; X86:       callq __zinst_enter
; X86-NOT:   %rbp
; X86:       callq __zinst_exit
; X86-NOT:   %rbp
; X86:       retq

; AArch64: sp + frame size, no frame record set-up (mov x29, sp).
; A64-LABEL: saves_registers:
; A64-NOT:   mov x29, sp
; A64:       add x2, sp, #{{[0-9]+}}
; A64:       bl __zinst_enter
; A64-NOT:   mov x29, sp
; A64:       add x2, sp, #{{[0-9]+}}
; A64:       bl __zinst_exit
; A64-NOT:   mov x29, sp
; A64:       ret

; OTHER: error: zinst: cannot instrument functions for target 'riscv64-unknown-linux-gnu': the hooks need the frame address, available on x86-64 and AArch64 only
