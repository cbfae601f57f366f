; Which code the pass emits: inline timing unless the build chose otherwise
; (Options.h). LTO bitcode on LLVM 19, where the pass may run before the
; link-time inliner and ThinLTO's importer, gets the hooks by default: they
; add two calls to a function, not the inline code's forty instructions
; that would change those decisions (LLVMCompat.h,
; mayPrecedeLinkTimeInliner). A choice made by the build is kept.
; RUN: rm -rf %t && split-file %s %t
; RUN: %opt-zinst -passes=zinst -S %t/plain.ll | FileCheck %s --check-prefix=TIME
; RUN: %opt-zinst -passes=zinst -zinst-inline-tree=false -S %t/plain.ll | FileCheck %s --check-prefix=HOOKS
; RUN: env ZINST_INLINE_TREE=0 %opt-zinst -passes=zinst -S %t/plain.ll | FileCheck %s --check-prefix=HOOKS
; RUN: env ZINST_INLINE_TREE=no %opt-zinst -passes=zinst -S %t/plain.ll | FileCheck %s --check-prefix=HOOKS
; RUN: %opt-zinst -passes=zinst -zinst-inline-tree -S %t/plain.ll | FileCheck %s --check-prefix=TREE
; RUN: %opt-zinst -passes=zinst -zinst-inline-time=false -S %t/plain.ll | FileCheck %s --check-prefix=HOOKS
; The command line wins over the environment.
; RUN: env ZINST_INLINE_TREE=0 %opt-zinst -passes=zinst -zinst-inline-time -S %t/plain.ll \
; RUN:   | FileCheck %s --check-prefix=TIME
; RUN: env ZINST_INLINE_TREE=time %opt-zinst -passes=zinst -zinst-inline-tree=false -S %t/plain.ll \
; RUN:   | FileCheck %s --check-prefix=HOOKS
;
; LTO bitcode (full LTO's "ThinLTO" flag, ThinLTO's "EnableSplitLTOUnit").
; RUN: %opt-zinst -passes=zinst -S %t/full-lto.ll -o %t/full-lto.out.ll
; RUN: %opt-zinst -passes=zinst -S %t/thin-lto.ll -o %t/thin-lto.out.ll
; RUN: %if lto-phase-aware %{ FileCheck %s --check-prefix=TIME --input-file=%t/full-lto.out.ll %}
; RUN: %if lto-phase-aware %{ FileCheck %s --check-prefix=TIME --input-file=%t/thin-lto.out.ll %}
; RUN: %if !lto-phase-aware %{ FileCheck %s --check-prefix=HOOKS --input-file=%t/full-lto.out.ll %}
; RUN: %if !lto-phase-aware %{ FileCheck %s --check-prefix=HOOKS --input-file=%t/thin-lto.out.ll %}
; RUN: %opt-zinst -passes=zinst -zinst-inline-time -S %t/thin-lto.ll | FileCheck %s --check-prefix=TIME
; RUN: env ZINST_INLINE_TREE=time %opt-zinst -passes=zinst -S %t/thin-lto.ll \
; RUN:   | FileCheck %s --check-prefix=TIME

; The module's flags (the descriptor's tenth field): 3 = INLINE_TREE |
; INLINE_TIME, 1 = INLINE_TREE, 0 = the hooks.
; TIME:       @__zinst_module = internal global {{.*}} i32 3, i32 0, ptr @__zinst_function_ids }
; TIME-LABEL: define i32 @work(
; TIME:         call {{.*}}ptr @__zinst_context_miss_or_due(
; TIME-NOT:     @__zinst_enter(
; TREE:       @__zinst_module = internal global {{.*}} i32 1, i32 0, ptr @__zinst_function_ids }
; TREE-LABEL: define i32 @work(
; TREE-NOT:     __zinst_context_miss_or_due
; TREE-NOT:     @__zinst_enter(
; TREE:         ret i32
; HOOKS:       @__zinst_module = internal global {{.*}} i32 0, i32 0, ptr null }
; HOOKS-LABEL: define i32 @work(
; HOOKS:         call void @__zinst_enter(
; HOOKS-NOT:     __zinst_context_miss_or_due
; HOOKS-NOT:     __zinst_context

;--- plain.ll
target triple = "x86_64-unknown-linux-gnu"

define i32 @work(i32 %x) {
  %y = mul i32 %x, 7
  ret i32 %y
}

;--- full-lto.ll
target triple = "x86_64-unknown-linux-gnu"

define i32 @work(i32 %x) {
  %y = mul i32 %x, 7
  ret i32 %y
}

!llvm.module.flags = !{!0, !1}
!0 = !{i32 1, !"ThinLTO", i32 0}
!1 = !{i32 1, !"EnableSplitLTOUnit", i32 1}

;--- thin-lto.ll
target triple = "x86_64-unknown-linux-gnu"

define i32 @work(i32 %x) {
  %y = mul i32 %x, 7
  ret i32 %y
}

!llvm.module.flags = !{!0}
!0 = !{i32 1, !"EnableSplitLTOUnit", i32 0}
