; -zinst-count-only / ZINST_COUNT_ONLY: a chosen function gets no hooks, only
; an increment of its own site counter at its entry (after its static
; allocas), and a row of the site table flagged ENTRY (0x400): 0x430 with
; debug info (ENTRY | COUNTED | DEBUG), 0x410 without. The same globs as
; -zinst-exclude: display names (C++ demangled, Zig's dotted names) and
; linkage names.

; RUN: %opt-zinst-hooks -passes=zinst -zinst-count-only='tiny,with_alloca,ns::gamma(int),main.Env.*' -S %s -o %t.ll
; RUN: FileCheck %s --input-file=%t.ll
; RUN: env ZINST_COUNT_ONLY='tiny,with_alloca,_ZN2ns*,main.Env.*' %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s

; Idempotent: a second run (LLVM 19's ThinLTO halves) adds no second counter.
; RUN: %opt-zinst-hooks -passes=zinst,zinst -zinst-count-only='tiny,with_alloca,ns::gamma(int),main.Env.*' -S %s | diff %t.ll -

; Exclude wins: an excluded function gets neither hooks nor a counter.
; RUN: %opt-zinst-hooks -passes=zinst -zinst-count-only='tiny' -zinst-exclude='tiny' -S %s | FileCheck %s --check-prefix=EXCLUDED
; EXCLUDED-NOT:   @__zinst_sites
; EXCLUDED-LABEL: define i32 @tiny(
; EXCLUDED-NEXT:    %y = mul i32 %x, 3
; Below the size threshold: nothing either (count-only picks among the functions selected).
; RUN: %opt-zinst-hooks -passes=zinst -zinst-count-only='tiny' -zinst-min-size=3 -S %s | FileCheck %s --check-prefix=EXCLUDED

; Without the option, every function has hooks and the table no site.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefix=HOOKS
; HOOKS-NOT:      @__zinst_sites
; HOOKS-LABEL:    define i32 @tiny(
; HOOKS-NEXT:       %zinst.frame = call ptr @llvm.addressofreturnaddress.p0()
; HOOKS-NEXT:       notail call void @__zinst_enter(

; One hooked function in the function table; four count-only rows in the
; site table, in the module's order: name, linkage name, file, line, column 0,
; flags, no cost, callee instructions, no caller and callee indices.
; CHECK-DAG: [[TINY:@__zinst_str[.0-9]*]] = private unnamed_addr constant [5 x i8] c"tiny\00"
; CHECK-DAG: [[FILE:@__zinst_str[.0-9]*]] = private unnamed_addr constant [15 x i8] c"/proj/src/co.c\00"
; CHECK-DAG: [[REASON:@__zinst_str[.0-9]*]] = private unnamed_addr constant [48 x i8] c"count-only function: calls counted at its entry\00"
; CHECK-DAG: [[GAMMA:@__zinst_str[.0-9]*]] = private unnamed_addr constant [15 x i8] c"ns::gamma(int)\00"
; CHECK-DAG: [[GAMMA_SYM:@__zinst_str[.0-9]*]] = private unnamed_addr constant [15 x i8] c"_ZN2ns5gammaEi\00"
; CHECK-DAG: [[STEP:@__zinst_str[.0-9]*]] = private unnamed_addr constant [14 x i8] c"main.Env.step\00"
; CHECK-DAG: @__zinst_functions = private constant [1 x
; CHECK:     @__zinst_sites = private constant [4 x
; CHECK-SAME: { ptr [[TINY]], ptr [[TINY]], ptr [[TINY]], ptr [[TINY]], ptr [[FILE]], ptr [[REASON]], i32 5, i32 0, i32 1072, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; CHECK-SAME: i32 0, i32 0, i32 1040, i32 0, i32 0, i32 5, i32 0, i32 0, i32 0 }
; CHECK-SAME: { ptr [[GAMMA]], ptr [[GAMMA_SYM]], ptr [[GAMMA]], ptr [[GAMMA_SYM]], ptr {{@__zinst_str[.0-9]*}}, ptr [[REASON]], i32 0, i32 0, i32 1040,
; CHECK-SAME: { ptr [[STEP]], ptr [[STEP]], ptr [[STEP]], ptr [[STEP]], ptr {{@__zinst_str[.0-9]*}}, ptr [[REASON]], i32 0, i32 0, i32 1040,
; CHECK:     @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 {{[0-9]+}}, i32 1, ptr @__zinst_functions, ptr {{@__zinst_str[.0-9]*}}, i32 -2147483648, i32 0, i32 4, i32 0, ptr @__zinst_sites, i32 0, i32 0, ptr null }

; The increment of site 0 first thing in tiny, through the address of the
; thread's counters of the module (the slow path when the thread has none
; yet: the module's preserve_most thunk);
; no hook anywhere in it; the memory(none) inferred before the pass is gone
; (the counter writes memory).
target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128"
target triple = "x86_64-unknown-linux-gnu"

; CHECK-LABEL: define i32 @tiny(
; CHECK-SAME:    #[[TINY_ATTRS:[0-9]+]]
; CHECK-NEXT:    [[TLS:%[0-9]+]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NEXT:    %zinst.counters = load ptr, ptr [[TLS]], align 8
; CHECK-NEXT:    %zinst.site_base = load i32, ptr getelementptr inbounds {{(nuw )?}}({{.*}}, ptr @__zinst_module, i32 0, i32 7), align 4
; CHECK-NEXT:    %zinst.no_counters = icmp eq ptr %zinst.counters, null
; CHECK-NEXT:    [[WIDE:%[0-9]+]] = zext i32 %zinst.site_base to i64
; CHECK-NEXT:    %zinst.sites.fast = getelementptr i64, ptr %zinst.counters, i64 [[WIDE]]
; CHECK-NEXT:    br i1 %zinst.no_counters, label %[[SLOW:[0-9]+]], label %[[BODY:[0-9]+]], !prof
; CHECK-EMPTY:
; CHECK-NEXT:  [[SLOW]]:
; CHECK-NEXT:    [[GOT:%[0-9]+]] = call preserve_mostcc ptr @__zinst_site_counters_thunk()
; CHECK-NEXT:    br label %[[BODY]]
; CHECK-EMPTY:
; CHECK-NEXT:  [[BODY]]:
; CHECK-NEXT:    %zinst.sites = phi ptr [ %zinst.sites.fast, %0 ], [ [[GOT]], %[[SLOW]] ]
; CHECK-NEXT:    %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 0
; CHECK-NEXT:    [[OLD:%[0-9]+]] = load i64, ptr %zinst.counter, align 8
; CHECK-NEXT:    [[NEW:%[0-9]+]] = add i64 [[OLD]], 1
; CHECK-NEXT:    store i64 [[NEW]], ptr %zinst.counter, align 8
; CHECK-NEXT:    %y = mul i32 %x, 3
; CHECK-NEXT:    ret i32 %y
; CHECK-NEXT:  }
define i32 @tiny(i32 %x) #0 !dbg !10 {
  %y = mul i32 %x, 3
  ret i32 %y, !dbg !14
}

; After the static allocas: splitting the entry block above them would make
; them dynamic.
; CHECK-LABEL: define i32 @with_alloca(
; CHECK-NEXT:    %slot = alloca i32
; CHECK-NEXT:    %buf = alloca [4 x i32]
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NOT:     __zinst_enter
; CHECK:         %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 1
; CHECK-NOT:     __zinst_exit
; CHECK:         ret i32 %v
define i32 @with_alloca(i32 %x) {
  %slot = alloca i32
  %buf = alloca [4 x i32]
  store i32 %x, ptr %slot
  %v = load i32, ptr %slot
  ret i32 %v
}

; A C++ function, chosen by its demangled name (or its symbol).
; CHECK-LABEL: define i32 @_ZN2ns5gammaEi(
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NOT:     __zinst_enter
; CHECK:         %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 2
; CHECK-NOT:     __zinst_exit
; CHECK:         ret i32 %y
define i32 @_ZN2ns5gammaEi(i32 %x) {
  %y = add i32 %x, 1
  ret i32 %y
}

; A Zig function, by its dotted name.
; CHECK-LABEL: define i32 @main.Env.step(
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NOT:     __zinst_enter
; CHECK:         %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 3
; CHECK-NOT:     __zinst_exit
; CHECK:         ret i32 %y
define i32 @main.Env.step(i32 %x) {
  %y = add i32 %x, 2
  ret i32 %y
}

; Not chosen: hooks as usual; its calls of count-only functions stay plain calls.
; CHECK-LABEL: define i32 @hooked(
; CHECK-NEXT:    %zinst.frame = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    notail call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr %zinst.frame)
; CHECK-NEXT:    %a = call i32 @tiny(i32 %x)
; CHECK-NEXT:    %b = call i32 @with_alloca(i32 %a)
; CHECK-NEXT:    %zinst.frame1 = call ptr @llvm.addressofreturnaddress.p0()
; CHECK-NEXT:    notail call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr %zinst.frame1)
; CHECK-NEXT:    ret i32 %b
define i32 @hooked(i32 %x) {
  %a = call i32 @tiny(i32 %x)
  %b = call i32 @with_alloca(i32 %a)
  ret i32 %b
}

; CHECK: attributes #[[TINY_ATTRS]] = { nounwind "zinst-instrumented" }

attributes #0 = { memory(none) nounwind }

!llvm.dbg.cu = !{!0}
!llvm.module.flags = !{!2, !3}

!0 = distinct !DICompileUnit(language: DW_LANG_C11, file: !1, producer: "hand-written", isOptimized: false, runtimeVersion: 0, emissionKind: FullDebug)
!1 = !DIFile(filename: "src/co.c", directory: "/proj")
!2 = !{i32 7, !"Dwarf Version", i32 5}
!3 = !{i32 2, !"Debug Info Version", i32 3}
!10 = distinct !DISubprogram(name: "tiny", scope: !1, file: !1, line: 5, type: !11, scopeLine: 5, spFlags: DISPFlagDefinition, unit: !0)
!11 = !DISubroutineType(types: !12)
!12 = !{null}
!14 = !DILocation(line: 6, column: 3, scope: !10)
