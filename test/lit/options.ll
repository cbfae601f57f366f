; Every option, as a cl::opt and as an environment variable.
;   @alpha          /proj/src/a.c (relative name joined to the directory), 1 instruction
;   @beta           /abs/b.c (absolute name, directory ignored), 5 instructions
;   @_ZN2ns5gammaEi no debug info: the module's source file, 2 instructions,
;                   display name ns::gamma(int)

; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=A,B,G

; Include by display or linkage name; lists split at commas outside braces.
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='al*' -S %s | FileCheck %s --check-prefixes=A,NOB,NOG
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='ns::gamma(int)' -S %s | FileCheck %s --check-prefixes=NOA,NOB,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='_ZN2ns*' -S %s | FileCheck %s --check-prefixes=NOA,NOB,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='alpha,beta' -S %s | FileCheck %s --check-prefixes=A,B,NOG
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='{alpha,ns::*}' -S %s | FileCheck %s --check-prefixes=A,NOB,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='[b]eta' -S %s | FileCheck %s --check-prefixes=NOA,B,NOG
; RUN: env ZINST_INCLUDE='al*' %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=A,NOB,NOG

; Exclude wins over include.
; RUN: %opt-zinst-hooks -passes=zinst -zinst-exclude='b*' -S %s | FileCheck %s --check-prefixes=A,NOB,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-exclude='*gamma*,alpha' -S %s | FileCheck %s --check-prefixes=NOA,B,NOG
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include='*a' -zinst-exclude='alpha' -S %s | FileCheck %s --check-prefixes=NOA,B,NOG
; RUN: env ZINST_EXCLUDE='b*' %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=A,NOB,G

; By source file: debug info path (joined), else the module's source name.
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include-file='/proj/src/*' -S %s | FileCheck %s --check-prefixes=A,NOB,NOG
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include-file='*options.ll' -S %s | FileCheck %s --check-prefixes=NOA,NOB,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-exclude-file='*.c' -S %s | FileCheck %s --check-prefixes=NOA,NOB,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-exclude-file='/abs/*' -S %s | FileCheck %s --check-prefixes=A,NOB,G
; RUN: env ZINST_INCLUDE_FILE='/abs/b.c' %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=NOA,B,NOG
; RUN: env ZINST_EXCLUDE_FILE='/proj/*' %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=NOA,B,G

; Minimum size in IR instructions; the bound is inclusive.
; RUN: %opt-zinst-hooks -passes=zinst -zinst-min-size=2 -S %s | FileCheck %s --check-prefixes=NOA,B,G
; RUN: %opt-zinst-hooks -passes=zinst -zinst-min-size=5 -S %s | FileCheck %s --check-prefixes=NOA,B,NOG
; RUN: %opt-zinst-hooks -passes=zinst -zinst-min-size=6 -S %s | FileCheck %s --check-prefixes=NOA,NOB,NOG
; RUN: env ZINST_MIN_SIZE=5 %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=NOA,B,NOG

; The command line wins over the environment.
; RUN: env ZINST_INCLUDE=alpha %opt-zinst-hooks -passes=zinst -zinst-include=beta -S %s | FileCheck %s --check-prefixes=NOA,B,NOG
; RUN: env ZINST_MIN_SIZE=6 %opt-zinst-hooks -passes=zinst -zinst-min-size=0 -S %s | FileCheck %s --check-prefixes=A,B,G
; RUN: env ZINST_DISABLE=1 %opt-zinst-hooks -passes=zinst -zinst-disable=false -S %s | FileCheck %s --check-prefixes=A,B,G
; An empty variable is no filter.
; RUN: env ZINST_INCLUDE= %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=A,B,G

; Disabled: the output is the output of opt without the plugin.
; RUN: %opt -S %s -o %t.plain.ll
; RUN: %opt-zinst-hooks -passes=zinst -zinst-disable -S %s -o %t.off.ll
; RUN: diff %t.plain.ll %t.off.ll
; RUN: env ZINST_DISABLE=1 %opt-zinst-hooks -passes=zinst -S %s -o %t.off-env.ll
; RUN: diff %t.plain.ll %t.off-env.ll
; RUN: env ZINST_DISABLE=yes %opt-zinst-hooks -passes=zinst -S %s -o %t.off-yes.ll
; RUN: diff %t.plain.ll %t.off-yes.ll
; RUN: env ZINST_DISABLE=0 %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefixes=A,B,G
; Disabled means no other option is even read.
; RUN: env ZINST_DISABLE=1 ZINST_MIN_SIZE=bad %opt-zinst-hooks -passes=zinst -S %s -o %t.off-bad.ll
; RUN: diff %t.plain.ll %t.off-bad.ll

; The table: relative debug file names are joined to the directory, absolute
; ones are kept; without debug info, the module's source name and line 0.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefix=TABLE
; TABLE-DAG: [[A_FILE:@__zinst_str[.0-9]*]] = private unnamed_addr constant [14 x i8] c"/proj/src/a.c\00"
; TABLE-DAG: [[B_FILE:@__zinst_str[.0-9]*]] = private unnamed_addr constant [9 x i8] c"/abs/b.c\00"
; TABLE-DAG: [[G_NAME:@__zinst_str[.0-9]*]] = private unnamed_addr constant [15 x i8] c"ns::gamma(int)\00"
; TABLE-DAG: [[M_FILE:@__zinst_str[.0-9]*]] = private unnamed_addr constant [{{[0-9]+}} x i8] c"{{.*}}options.ll\00"
; TABLE: @__zinst_functions = private constant [3 x { ptr, ptr, ptr, i32, i32 }]
; TABLE-SAME: { ptr {{@__zinst_str[.0-9]*}}, ptr {{@__zinst_str[.0-9]*}}, ptr [[A_FILE]], i32 10, i32 1 }
; TABLE-SAME: { ptr {{@__zinst_str[.0-9]*}}, ptr {{@__zinst_str[.0-9]*}}, ptr [[B_FILE]], i32 20, i32 1 }
; TABLE-SAME: { ptr [[G_NAME]], ptr {{@__zinst_str[.0-9]*}}, ptr [[M_FILE]], i32 0, i32 0 }]

; A:        define void @alpha()
; A-NEXT:     [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; A-NEXT:     call void @__zinst_enter(
; NOA:      define void @alpha()
; NOA-NEXT:   ret void
; B:        define i32 @beta(
; B-NEXT:     [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; B-NEXT:     call void @__zinst_enter(
; NOB:      define i32 @beta(
; NOB-NEXT:   %a = add
; G:        define i32 @_ZN2ns5gammaEi(
; G-NEXT:     [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; G-NEXT:     call void @__zinst_enter(
; NOG:      define i32 @_ZN2ns5gammaEi(
; NOG-NEXT:   %y = add

define void @alpha() !dbg !10 {
  ret void, !dbg !14
}

define i32 @beta(i32 %x) !dbg !20 {
  %a = add i32 %x, 1
  %b = mul i32 %a, 3
  %c = sub i32 %b, %x
  %d = xor i32 %c, 5
  ret i32 %d
}

define i32 @_ZN2ns5gammaEi(i32 %x) {
  %y = add i32 %x, 1
  ret i32 %y
}

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2, !3}

!0 = distinct !DICompileUnit(language: DW_LANG_C11, file: !1, producer: "hand-written", isOptimized: false, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "src/a.c", directory: "/proj")
!2 = !{i32 7, !"Dwarf Version", i32 5}
!3 = !{i32 2, !"Debug Info Version", i32 3}
!10 = distinct !DISubprogram(name: "alpha", scope: !1, file: !1, line: 10, type: !11, scopeLine: 10, spFlags: DISPFlagDefinition, unit: !0)
!11 = !DISubroutineType(types: !12)
!12 = !{null}
!14 = !DILocation(line: 11, column: 3, scope: !10)
!20 = distinct !DISubprogram(name: "beta", scope: !21, file: !21, line: 20, type: !11, scopeLine: 20, spFlags: DISPFlagDefinition, unit: !0)
!21 = !DIFile(filename: "/abs/b.c", directory: "/proj")
