; Where the pass runs in LTO builds. The link-time pipelines (ThinLTO's
; OptimizerLast, full LTO's FullLinkTimeOptimizationLast) always instrument.
; RUN: %opt-zinst-hooks -passes='thinlto<O2>' -S %s | FileCheck %s --check-prefix=ON
; RUN: %opt-zinst-hooks -passes='lto<O2>' -S %s | FileCheck %s --check-prefix=ON
; RUN: %opt-zinst-hooks -passes='default<O2>' -S %s | FileCheck %s --check-prefix=ON

; The pre-link (compile-time) halves: LLVM 20+ reports the phase and the pass
; waits for the link, after cross-module inlining; LLVM 19 cannot tell and
; instruments at both halves (the second run then adds nothing).
; RUN: %opt-zinst-hooks -passes='thinlto-pre-link<O2>' -S %s -o %t.thin-pre.ll
; RUN: %opt-zinst-hooks -passes='lto-pre-link<O2>' -S %s -o %t.full-pre.ll
; RUN: %if lto-phase-aware %{ FileCheck %s --check-prefix=OFF --input-file=%t.thin-pre.ll %}
; RUN: %if lto-phase-aware %{ FileCheck %s --check-prefix=OFF --input-file=%t.full-pre.ll %}
; RUN: %if !lto-phase-aware %{ FileCheck %s --check-prefix=ON --input-file=%t.thin-pre.ll %}
; RUN: %if !lto-phase-aware %{ FileCheck %s --check-prefix=ON --input-file=%t.full-pre.ll %}

; Pre-link then link (as the linker would run it) instruments exactly once.
; RUN: %opt-zinst-hooks -passes='thinlto<O2>' -S %t.thin-pre.ll | FileCheck %s --check-prefix=ON
; RUN: %opt-zinst-hooks -passes='lto<O2>' -S %t.full-pre.ll | FileCheck %s --check-prefix=ON

; ON:      @__zinst_functions = private constant [2 x
; ON-NOT:  @__zinst_functions.
; ON-LABEL: define {{.*}}i32 @work(
; ON-NEXT:   [[FRAME:%[a-z0-9._]+]] = {{(tail )?}}call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; ON-NEXT:   call void @__zinst_enter(ptr {{(nonnull )?}}@__zinst_module, i32 0, ptr [[FRAME]])
; ON-NOT:    call void @__zinst_enter
; main's call of work is a counted site. The address of the thread's site
; counters is computed where main's own code starts, after the hooks; LLVM
; 19's link-time pipeline, which optimizes code instrumented at compile
; time, may move it above them.
; ON-LABEL: define {{.*}}i32 @main(
; ON:        [[FRAME:%[a-z0-9._]+]] = {{(tail )?}}call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; ON-NEXT:   call void @__zinst_enter(ptr {{(nonnull )?}}@__zinst_module, i32 1, ptr [[FRAME]])
; ON-NOT:    call void @__zinst_enter
; OFF-NOT: __zinst

define i32 @work(i32 %x) noinline {
  %y = mul i32 %x, 7
  ret i32 %y
}

define i32 @main() {
  %r = call i32 @work(i32 6)
  ret i32 %r
}

; Optimizations that run after the pass (LLVM 19's link-time pipelines over
; modules instrumented at compile time) never make a hook a tail call.
; RUN: %opt-zinst-hooks -passes='thinlto<O2>' -S %t.thin-pre.ll | FileCheck %s --check-prefix=NOTAIL
; RUN: %opt-zinst-hooks -passes='lto<O2>' -S %t.full-pre.ll | FileCheck %s --check-prefix=NOTAIL
; NOTAIL-NOT: {{ }}tail call void @__zinst_{{enter|exit}}
; NOTAIL:     notail call void @__zinst_exit
; NOTAIL-NOT: {{ }}tail call void @__zinst_{{enter|exit}}
