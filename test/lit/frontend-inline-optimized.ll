; Zig bitcode that LLVM already optimized (Zig 0.17 writes such bitcode
; for -femit-llvm-bc) carries LLVM's inlining too, which looks like Zig's own.
; LLVM's inliner shares the callee's DISubprogram, Zig makes one per call:
; a DISubprogram still attached to a function, or one used by two calls,
; gives it away. Then nothing is recorded, and the warning says why.
; RUN: rm -rf %t && split-file %s %t
; RUN: %opt-zinst -passes=zinst-frontend-inline-sites -S %t/attached.ll -o %t/attached.out.ll 2> %t/attached.err
; RUN: FileCheck %s --check-prefix=WARN --input-file=%t/attached.err -DCALLEE=leaf
; RUN: FileCheck %s --check-prefix=NOTHING --input-file=%t/attached.out.ll
; RUN: %opt-zinst -passes=zinst-frontend-inline-sites -S %t/shared.ll -o %t/shared.out.ll 2> %t/shared.err
; RUN: FileCheck %s --check-prefix=WARN --input-file=%t/shared.err -DCALLEE=step
; RUN: FileCheck %s --check-prefix=NOTHING --input-file=%t/shared.out.ll

; WARN: warning: zinst: {{.*}}.ll was optimized by LLVM before zinst saw it (LLVM inlined '[[CALLEE]]'): the calls Zig inlined itself (inline fn, @call(.always_inline)) cannot be told from LLVM's and are not recorded; give zinst Zig's unoptimized bitcode (zig build-exe --verbose-llvm-bc=FILE, as `zinst zig build-exe` does)
; NOTHING-NOT: pseudoprobe
; NOTHING-NOT: !zinst.inline.sites

;--- attached.ll
; leaf() still exists after LLVM inlined it into top().
define i64 @m.leaf(i64 %x) !dbg !10 {
  %a = add i64 %x, 1, !dbg !11
  ret i64 %a, !dbg !11
}

define i64 @m.top(i64 %x) !dbg !20 {
  %a = add i64 %x, 1, !dbg !22
  ret i64 %a, !dbg !21
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2}
!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: "zig 0.17.1", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "m.zig", directory: "/project")
!2 = !{i32 2, !"Debug Info Version", i32 3}
!3 = !DISubroutineType(types: !{})
!10 = distinct !DISubprogram(name: "leaf", linkageName: "m.leaf", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!11 = !DILocation(line: 2, column: 5, scope: !10)
!20 = distinct !DISubprogram(name: "top", linkageName: "m.top", scope: !1, file: !1, line: 5, type: !3, scopeLine: 5, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!21 = !DILocation(line: 6, column: 5, scope: !20)
!22 = !DILocation(line: 2, column: 5, scope: !10, inlinedAt: !21)

;--- shared.ll
; step() was inlined at two places and then deleted: its DISubprogram
; serves both.
define i64 @m.top(i64 %x) !dbg !20 {
  %a = add i64 %x, 1, !dbg !23
  %b = add i64 %a, 1, !dbg !24
  ret i64 %b, !dbg !21
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2}
!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: "zig 0.17.1", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "m.zig", directory: "/project")
!2 = !{i32 2, !"Debug Info Version", i32 3}
!3 = !DISubroutineType(types: !{})
!10 = distinct !DISubprogram(name: "step", linkageName: "m.step", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!20 = distinct !DISubprogram(name: "top", linkageName: "m.top", scope: !1, file: !1, line: 5, type: !3, scopeLine: 5, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!21 = !DILocation(line: 6, column: 5, scope: !20)
!22 = !DILocation(line: 7, column: 5, scope: !20)
!23 = !DILocation(line: 2, column: 5, scope: !10, inlinedAt: !21)
!24 = !DILocation(line: 2, column: 5, scope: !10, inlinedAt: !22)
