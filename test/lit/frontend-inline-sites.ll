; Calls Zig's front end inlined (inline fn, @call(.always_inline)) become
; sites at PipelineStart, with a marker where each inlined body is entered,
; or no marker when no instruction runs exactly once per entry. The IR
; is shaped like Zig 0.14's unoptimized bitcode, trimmed: each inlined call
; has a DISubprogram of its own, and inlinedAt names the call.
; RUN: %opt-zinst -passes=zinst-frontend-inline-sites -S %s -o %t.ll
; RUN: FileCheck %s --input-file=%t.ll

; Idempotent, in one opt run and across two.
; RUN: %opt-zinst -passes=zinst-frontend-inline-sites,zinst-frontend-inline-sites -S %s \
; RUN:   | diff %t.ll -
; RUN: %opt-zinst -passes=zinst-frontend-inline-sites -S %t.ll | grep -v '^; ModuleID' > %t.again.ll
; RUN: grep -v '^; ModuleID' %t.ll | diff - %t.again.ll

; It runs at PipelineStart, at every level, and the sites reach the table
; (10 instances, counted or not; the zinst API's call is none).
; RUN: %opt-zinst -passes='default<O0>' -S %s | FileCheck %s --check-prefix=TABLE
; RUN: %opt-zinst -passes='default<O2>' -S %s | FileCheck %s --check-prefix=TABLE
; TABLE: @__zinst_sites = private constant [10 x
; TABLE-NOT: call void @llvm.pseudoprobe

; Never at link time (LTO): inlinedAt there is LLVM's own inlining.
; RUN: %opt-zinst -passes='thinlto<O2>' -S %s | FileCheck %s --check-prefix=POSTLINK
; RUN: %opt-zinst -passes='lto<O2>' -S %s | FileCheck %s --check-prefix=POSTLINK
; POSTLINK-NOT: zinst.frontend.inlines
; POSTLINK-NOT: @__zinst_sites

; The off switch leaves the module alone.
; RUN: env ZINST_DISABLE=1 %opt-zinst -passes='default<O0>' -S %s | FileCheck %s --check-prefix=OFF
; OFF-NOT: {{!zinst|__zinst|pseudoprobe}}

target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-unknown-linux-gnu"

; The marker goes right before the first instruction of the body, after the
; caller's own code (the argument).
; CHECK-LABEL: define i64 @m.straight(
; CHECK-NEXT:  Entry:
; CHECK-NEXT:    %a = add i64 %x, 1, !dbg
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[STRAIGHT_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[STRAIGHT:![0-9]+]]
; CHECK-NEXT:    %b = mul i64 %a, 3, !dbg
define i64 @m.straight(i64 %x) !dbg !10 {
Entry:
  %a = add i64 %x, 1, !dbg !11
  %b = mul i64 %a, 3, !dbg !13
  br label %Block, !dbg !14

Block:
  %r = add i64 %b, %a, !dbg !12
  ret i64 %r, !dbg !15
}

; twice(x) = addOne(addOne(x)): the first inner call's marker and the outer
; one's stand before the same instruction.
; CHECK-LABEL: define i64 @m.nested(
; CHECK-NEXT:  Entry:
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[INNER1_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[INNER1:![0-9]+]]
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[TWICE_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[TWICE:![0-9]+]]
; CHECK-NEXT:    %a = add i64 %x, 1, !dbg
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[INNER2_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[INNER2:![0-9]+]]
; CHECK-NEXT:    %b = add i64 %a, 1, !dbg
; CHECK-NEXT:    %c = mul i64 %b, 2, !dbg
; CHECK-NEXT:    ret i64 %c
define i64 @m.nested(i64 %x) !dbg !20 {
Entry:
  %a = add i64 %x, 1, !dbg !24
  %b = add i64 %a, 1, !dbg !27
  %c = mul i64 %b, 2, !dbg !28
  ret i64 %c, !dbg !29
}

; A call in the caller's loop: once per iteration.
; CHECK-LABEL: define void @m.inLoop(
; CHECK:       Body:
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[LOOP_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[LOOP:![0-9]+]]
; CHECK-NEXT:    %v = mul i64 %i, 7, !dbg
define void @m.inLoop(i64 %n) !dbg !30 {
Entry:
  br label %Loop, !dbg !31

Loop:
  %i = phi i64 [ 0, %Entry ], [ %i1, %Next ]
  %c = icmp ult i64 %i, %n, !dbg !31
  br i1 %c, label %Body, label %Done, !dbg !31

Body:
  %v = mul i64 %i, 7, !dbg !33
  br label %Next, !dbg !33

Next:
  %i1 = add i64 %i, 1, !dbg !31
  br label %Loop, !dbg !31

Done:
  ret void, !dbg !31
}

; The body starts with a loop: Zig emits the branch into it in the caller's
; block, located in the body. The marker goes before that branch, not into
; the loop.
; CHECK-LABEL: define i64 @m.loopAtStart(
; CHECK-NEXT:  Entry:
; CHECK-NEXT:    %p = add i64 %n, 0, !dbg
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[SPIN_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[SPIN:![0-9]+]]
; CHECK-NEXT:    br label %Loop, !dbg
; CHECK:       Loop:
; CHECK-NOT:     pseudoprobe
; CHECK:         ret i64
define i64 @m.loopAtStart(i64 %n) !dbg !40 {
Entry:
  %p = add i64 %n, 0, !dbg !41
  br label %Loop, !dbg !43

Loop:
  %i = phi i64 [ 0, %Entry ], [ %i1, %Latch ]
  %c = icmp ult i64 %i, %p, !dbg !43
  br i1 %c, label %Latch, label %Out, !dbg !43

Latch:
  %i1 = add i64 %i, 1, !dbg !43
  br label %Loop, !dbg !43

Out:
  br label %After, !dbg !43

After:
  ret i64 %i, !dbg !41
}

; The same body, but the branch into its loop is the caller's: the first
; instruction of the body runs once per iteration, so nothing is counted.
; CHECK-LABEL: define i64 @m.loopNoEntry(
; CHECK-NOT:     pseudoprobe
; CHECK:         ret i64
define i64 @m.loopNoEntry(i64 %n) !dbg !50 {
Entry:
  %p = add i64 %n, 0, !dbg !51
  br label %Loop, !dbg !51

Loop:
  %i = phi i64 [ 0, %Entry ], [ %i1, %Latch ]
  %c = icmp ult i64 %i, %p, !dbg !53
  br i1 %c, label %Latch, label %Out, !dbg !53

Latch:
  %i1 = add i64 %i, 1, !dbg !53
  br label %Loop, !dbg !53

Out:
  br label %After, !dbg !53

After:
  ret i64 %i, !dbg !51
}

; Code of the body, then the caller's, then the body's again: a marker at
; the first instruction would miss the second entry.
; CHECK-LABEL: define i64 @m.reentered(
; CHECK-NOT:     pseudoprobe
; CHECK:         ret i64
define i64 @m.reentered(i64 %x) !dbg !60 {
Entry:
  %a = mul i64 %x, 3, !dbg !63
  %b = add i64 %a, 1, !dbg !61
  %c = mul i64 %b, 5, !dbg !63
  ret i64 %c, !dbg !61
}

; `inline for`: two iterations share the call's location, with one
; DISubprogram each: two sites.
; CHECK-LABEL: define i64 @m.unrolled(
; CHECK-NEXT:  Entry:
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[UNROLLED1_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[UNROLLED1:![0-9]+]]
; CHECK-NEXT:    %a = add i64 %x, 1, !dbg
; CHECK-NEXT:    call void @llvm.pseudoprobe(i64 8820702787331257193, i64 [[UNROLLED2_ID:-?[0-9]+]], i32 0, i64 -1), !dbg {{![0-9]+}}, !zinst.site [[UNROLLED2:![0-9]+]]
; CHECK-NEXT:    %b = add i64 %a, 2, !dbg
define i64 @m.unrolled(i64 %x) !dbg !70 {
Entry:
  %a = add i64 %x, 1, !dbg !73
  %b = add i64 %a, 2, !dbg !75
  ret i64 %b, !dbg !71
}

; zinst's own Zig API (zinst.zone etc.) is inline too, and stays invisible.
; CHECK-LABEL: define i64 @m.usesApi(
; CHECK-NOT:     pseudoprobe
; CHECK:         ret i64
define i64 @m.usesApi(i64 %x) !dbg !80 {
Entry:
  %a = add i64 %x, 1, !dbg !83
  ret i64 %a, !dbg !81
}

; Code that clang compiled: inlinedAt there is never Zig's.
; CHECK-LABEL: define i64 @from_c(
; CHECK-NOT:     pseudoprobe
; CHECK:         ret i64
define i64 @from_c(i64 %x) !dbg !110 {
  %a = add i64 %x, 1, !dbg !113
  ret i64 %a, !dbg !111
}

!llvm.dbg.cu = !{!0, !100}
!llvm.module.flags = !{!2}

!0 = distinct !DICompileUnit(language: DW_LANG_C99, file: !1, producer: "zig 0.14.1", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "m.zig", directory: "/project")
!2 = !{i32 2, !"Debug Info Version", i32 3}
!3 = !DISubroutineType(types: !{})

; straight: addOne called at 11:20.
!10 = distinct !DISubprogram(name: "straight", linkageName: "m.straight", scope: !1, file: !1, line: 10, type: !3, scopeLine: 10, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!11 = !DILocation(line: 11, column: 13, scope: !10)
!12 = !DILocation(line: 11, column: 20, scope: !10)
!13 = !DILocation(line: 2, column: 14, scope: !16, inlinedAt: !12)
!14 = !DILocation(line: 2, column: 5, scope: !16, inlinedAt: !12)
!15 = !DILocation(line: 12, column: 5, scope: !10)
!16 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; nested: twice called at 21:16; in twice, addOne at 5:18 (inner) and 5:11.
!20 = distinct !DISubprogram(name: "nested", linkageName: "m.nested", scope: !1, file: !1, line: 20, type: !3, scopeLine: 20, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!21 = !DILocation(line: 21, column: 16, scope: !20)
!22 = distinct !DISubprogram(name: "twice", linkageName: "m.twice", scope: !1, file: !1, line: 4, type: !3, scopeLine: 4, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!23 = !DILocation(line: 5, column: 18, scope: !22, inlinedAt: !21)
!24 = !DILocation(line: 2, column: 14, scope: !25, inlinedAt: !23)
!25 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!26 = !DILocation(line: 5, column: 11, scope: !22, inlinedAt: !21)
!27 = !DILocation(line: 2, column: 14, scope: !19, inlinedAt: !26)
!28 = !DILocation(line: 5, column: 5, scope: !22, inlinedAt: !21)
!29 = !DILocation(line: 22, column: 5, scope: !20)
!19 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; inLoop: addOne called at 32:9 in the loop.
!30 = distinct !DISubprogram(name: "inLoop", linkageName: "m.inLoop", scope: !1, file: !1, line: 30, type: !3, scopeLine: 30, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!31 = !DILocation(line: 31, column: 5, scope: !30)
!32 = !DILocation(line: 32, column: 9, scope: !30)
!33 = !DILocation(line: 2, column: 14, scope: !34, inlinedAt: !32)
!34 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; loopAtStart: spin called at 41:12.
!40 = distinct !DISubprogram(name: "loopAtStart", linkageName: "m.loopAtStart", scope: !1, file: !1, line: 40, type: !3, scopeLine: 40, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!41 = !DILocation(line: 41, column: 5, scope: !40)
!42 = !DILocation(line: 41, column: 12, scope: !40)
!43 = !DILocation(line: 8, column: 5, scope: !44, inlinedAt: !42)
!44 = distinct !DISubprogram(name: "spin", linkageName: "m.spin", scope: !1, file: !1, line: 7, type: !3, scopeLine: 7, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; loopNoEntry: spin called at 51:12.
!50 = distinct !DISubprogram(name: "loopNoEntry", linkageName: "m.loopNoEntry", scope: !1, file: !1, line: 50, type: !3, scopeLine: 50, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!51 = !DILocation(line: 51, column: 5, scope: !50)
!52 = !DILocation(line: 51, column: 12, scope: !50)
!53 = !DILocation(line: 8, column: 5, scope: !54, inlinedAt: !52)
!54 = distinct !DISubprogram(name: "spin", linkageName: "m.spin", scope: !1, file: !1, line: 7, type: !3, scopeLine: 7, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; reentered: addOne called at 61:7.
!60 = distinct !DISubprogram(name: "reentered", linkageName: "m.reentered", scope: !1, file: !1, line: 60, type: !3, scopeLine: 60, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!61 = !DILocation(line: 61, column: 5, scope: !60)
!62 = !DILocation(line: 61, column: 7, scope: !60)
!63 = !DILocation(line: 2, column: 14, scope: !64, inlinedAt: !62)
!64 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; unrolled: `inline for` calling addOne at 71:30, twice.
!70 = distinct !DISubprogram(name: "unrolled", linkageName: "m.unrolled", scope: !1, file: !1, line: 70, type: !3, scopeLine: 70, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!71 = !DILocation(line: 72, column: 5, scope: !70)
!72 = !DILocation(line: 71, column: 30, scope: !70)
!73 = !DILocation(line: 2, column: 14, scope: !74, inlinedAt: !72)
!74 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!75 = !DILocation(line: 2, column: 14, scope: !76, inlinedAt: !72)
!76 = distinct !DISubprogram(name: "addOne", linkageName: "m.addOne", scope: !1, file: !1, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; usesApi: zinst.zone inlined at 81:9.
!80 = distinct !DISubprogram(name: "usesApi", linkageName: "m.usesApi", scope: !1, file: !1, line: 80, type: !3, scopeLine: 80, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)
!81 = !DILocation(line: 82, column: 5, scope: !80)
!82 = !DILocation(line: 81, column: 9, scope: !80)
!83 = !DILocation(line: 40, column: 5, scope: !84, inlinedAt: !82)
!84 = distinct !DISubprogram(name: "zone", linkageName: "zinst.zone", scope: !1, file: !1, line: 39, type: !3, scopeLine: 39, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !0)

; from_c, a clang unit: sq inlined at 3:10.
!100 = distinct !DICompileUnit(language: DW_LANG_C11, file: !101, producer: "clang version 19.1.7", isOptimized: true, runtimeVersion: 0, emissionKind: FullDebug)
!101 = !DIFile(filename: "c.c", directory: "/project")
!110 = distinct !DISubprogram(name: "from_c", scope: !101, file: !101, line: 2, type: !3, scopeLine: 2, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !100)
!111 = !DILocation(line: 4, column: 3, scope: !110)
!112 = !DILocation(line: 3, column: 10, scope: !110)
!113 = !DILocation(line: 1, column: 30, scope: !114, inlinedAt: !112)
!114 = distinct !DISubprogram(name: "sq", scope: !101, file: !101, line: 1, type: !3, scopeLine: 1, spFlags: DISPFlagDefinition | DISPFlagOptimized, unit: !100)

; Flags 35 = INLINED | ALWAYS | DEBUG; no cost, no threshold; the callee's
; size is its instruction count in the unoptimized code.
; CHECK-LABEL: !zinst.inline.sites = !{
; CHECK-DAG: [[STRAIGHT]] = distinct !{i64 [[STRAIGHT_ID]], !"m.straight", !"m.straight", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 11, i32 20, i32 35, i32 0, i32 0, i32 2, !"/project/m.zig"}
; CHECK-DAG: [[TWICE]] = distinct !{i64 [[TWICE_ID]], !"m.nested", !"m.nested", !"m.twice", !"m.twice", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 21, i32 16, i32 35, i32 0, i32 0, i32 3, !"/project/m.zig"}
; CHECK-DAG: [[INNER1]] = distinct !{i64 [[INNER1_ID]], !"m.twice", !"m.twice", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 5, i32 18, i32 35, i32 0, i32 0, i32 1, !"/project/m.zig"}
; CHECK-DAG: [[INNER2]] = distinct !{i64 [[INNER2_ID]], !"m.twice", !"m.twice", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 5, i32 11, i32 35, i32 0, i32 0, i32 1, !"/project/m.zig"}
; CHECK-DAG: [[LOOP]] = distinct !{i64 [[LOOP_ID]], !"m.inLoop", !"m.inLoop", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 32, i32 9, i32 35, i32 0, i32 0, i32 2, !"/project/m.zig"}
; CHECK-DAG: [[SPIN]] = distinct !{i64 [[SPIN_ID]], !"m.loopAtStart", !"m.loopAtStart", !"m.spin", !"m.spin", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 41, i32 12, i32 35, i32 0, i32 0, i32 6, !"/project/m.zig"}
; CHECK-DAG: {{![0-9]+}} = distinct !{i64 {{-?[0-9]+}}, !"m.loopNoEntry", !"m.loopNoEntry", !"m.spin", !"m.spin", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline); not counted: no instruction of the body runs exactly once per call", i32 51, i32 12, i32 35, i32 0, i32 0, i32 5, !"/project/m.zig"}
; CHECK-DAG: {{![0-9]+}} = distinct !{i64 {{-?[0-9]+}}, !"m.reentered", !"m.reentered", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline); not counted: no instruction of the body runs exactly once per call", i32 61, i32 7, i32 35, i32 0, i32 0, i32 2, !"/project/m.zig"}
; CHECK-DAG: [[UNROLLED1]] = distinct !{i64 [[UNROLLED1_ID]], !"m.unrolled", !"m.unrolled", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 71, i32 30, i32 35, i32 0, i32 0, i32 1, !"/project/m.zig"}
; CHECK-DAG: [[UNROLLED2]] = distinct !{i64 [[UNROLLED2_ID]], !"m.unrolled", !"m.unrolled", !"m.addOne", !"m.addOne", !"/project/m.zig", !"inlined by Zig: inline fn or @call(.always_inline)", i32 71, i32 30, i32 35, i32 0, i32 0, i32 1, !"/project/m.zig"}
