; The shape of the site increments at the end of the pipeline. A function
; that counts sites computes the address of the thread's counters of its
; module once, where its own code starts (after the inline context code or
; the hooks): a TLS load and the module's site_base. After entry code the
; runtime never leaves the TLS pointer NULL, so there is no test. A function
; without entry code (here: every function excluded) tests it, and when the
; thread has no counters yet (its first event) takes the slow path, through
; the module's preserve_most thunk on x86-64 and AArch64 and calling
; __zinst_site_counters_slow itself elsewhere. Every site is then one
; increment at a constant offset, also after a call.
; RUN: %opt-zinst -passes='default<O2>' -S %s | FileCheck %s
; RUN: sed 's/x86_64-unknown-linux-gnu/aarch64-unknown-linux-gnu/' %s \
; RUN:   | %opt-zinst -passes='default<O2>' -S | FileCheck %s
; RUN: %opt-zinst -passes='default<O2>' -zinst-include=no-such-function -S %s \
; RUN:   | FileCheck %s --check-prefix=THUNK
; RUN: sed 's/x86_64-unknown-linux-gnu/riscv64-unknown-linux-gnu/' %s \
; RUN:   | %opt-zinst -passes='default<O2>' -zinst-include=no-such-function -S \
; RUN:   | FileCheck %s --check-prefix=DIRECT
; The hooks build: the address after the enter hook.
; RUN: %opt-zinst-hooks -passes='default<O2>' -S %s | FileCheck %s --check-prefix=HOOKS
; The code generator takes the thunk's calling convention on both targets.
; RUN: %opt-zinst -passes='default<O2>' -zinst-include=no-such-function %s -o %t.x86.bc
; RUN: %llc %t.x86.bc -o /dev/null
; RUN: sed 's/x86_64-unknown-linux-gnu/aarch64-unknown-linux-gnu/' %s \
; RUN:   | %opt-zinst -passes='default<O2>' -zinst-include=no-such-function -o %t.arm.bc
; RUN: %llc %t.arm.bc -o /dev/null

target triple = "x86_64-unknown-linux-gnu"

declare void @ext(i32)

define internal i32 @inner(i32 %x) {
  %y = add i32 %x, 1
  ret i32 %y
}

define internal i32 @outer(i32 %x) {
  %a = call i32 @inner(i32 %x)
  %b = mul i32 %a, 3
  ret i32 %b
}

; outer's marker, the marker of inner inlined into outer, and the counter of
; each ext() call: one address of the counters, no test, also after the
; first call. The first ext() call runs whenever outer's code does (nothing
; between them can stop it), so its site shares the counter of outer's
; (shared_counter, the table's last field: 1 + that site's row). inner's
; site keeps a counter of its own: its code was copied into split too, where
; it runs a different number of times. ext() may not come back (exit,
; longjmp), so the second call's site has its own: three increments for
; four sites.
; CHECK-DAG: [[GROUPED:@__zinst_str[.0-9]*]] = private unnamed_addr constant [8 x i8] c"grouped\00"
; CHECK-DAG: [[SPLIT:@__zinst_str[.0-9]*]] = private unnamed_addr constant [6 x i8] c"split\00"
; CHECK-DAG: [[OUTERS:@__zinst_str[.0-9]*]] = private unnamed_addr constant [6 x i8] c"outer\00"
; CHECK-DAG: [[INNERS:@__zinst_str[.0-9]*]] = private unnamed_addr constant [6 x i8] c"inner\00"
; CHECK-DAG: [[EXTS:@__zinst_str[.0-9]*]] = private unnamed_addr constant [4 x i8] c"ext\00"
; The sites in the order the pass met them: outer -> inner (0), grouped ->
; outer (1), split -> outer (2), grouped -> ext twice (3, 4), split -> ext
; (5), looped's (6), cold_sites' (7).
; CHECK-DAG: @__zinst_sites = private constant [8 x {{.*}}] [{{.*}} { ptr [[OUTERS]], ptr [[OUTERS]], ptr [[INNERS]], {{[^}]*}}, i32 0, i32 0, i32 0 }, {{.*}} { ptr [[GROUPED]], ptr [[GROUPED]], ptr [[OUTERS]], {{[^}]*}}, i32 0, i32 0, i32 0 }, {{.*}} { ptr [[SPLIT]], ptr [[SPLIT]], ptr [[OUTERS]], {{[^}]*}}, i32 0, i32 0, i32 0 }, {{.*}} { ptr [[GROUPED]], ptr [[GROUPED]], ptr [[EXTS]], {{[^}]*}}, i32 0, i32 0, i32 2 }, {{.*}} { ptr [[GROUPED]], ptr [[GROUPED]], ptr [[EXTS]], {{[^}]*}}, i32 0, i32 0, i32 0 }, {{.*}} { ptr [[SPLIT]], ptr [[SPLIT]], ptr [[EXTS]], {{[^}]*}}, i32 0, i32 0, i32 3 }, {{.*}}, i32 0, i32 0, i32 0 }, {{.*}}, i32 0, i32 0, i32 0 }]
; CHECK-LABEL: define i32 @grouped(
; CHECK:       zinst.entered:
; CHECK:         [[TLS:%.*]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NEXT:    %zinst.counters = load ptr, ptr [[TLS]]
; CHECK-NEXT:    %zinst.site_base = load i32, ptr getelementptr inbounds {{.*}}@__zinst_module, i32 0, i32 7)
; CHECK-NEXT:    [[BASE:%.*]] = zext i32 %zinst.site_base to i64
; CHECK-NEXT:    %zinst.sites = getelementptr i64, ptr %zinst.counters, i64 [[BASE]]
; CHECK-NEXT:    %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 1
; CHECK-NEXT:    load i64, ptr %zinst.counter
; CHECK-NEXT:    add i64
; CHECK-NEXT:    store i64 {{.*}}, ptr %zinst.counter,
; CHECK-NEXT:    [[INNERP:%zinst.counter[0-9]+]] = getelementptr inbounds i64, ptr %zinst.sites, i64 0
; CHECK-NEXT:    load i64, ptr [[INNERP]]
; CHECK-NEXT:    add i64
; CHECK-NEXT:    store i64 {{.*}}, ptr [[INNERP]],
; CHECK-NOT:     %zinst.counter
; CHECK:         call void @ext(
; CHECK-NEXT:    [[EXT2P:%zinst.counter[0-9]+]] = getelementptr inbounds i64, ptr %zinst.sites, i64 4
; CHECK-NEXT:    load i64, ptr [[EXT2P]]
; CHECK-NEXT:    add i64
; CHECK-NEXT:    store i64 {{.*}}, ptr [[EXT2P]],
; CHECK-NEXT:    call void @ext(i32 %x)
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:         ret i32
define i32 @grouped(i32 %x) {
  %r = call i32 @outer(i32 %x)
  call void @ext(i32 %r)
  call void @ext(i32 %x)
  ret i32 %r
}

; A store between the markers and the call changes nothing: one address,
; and the call's site shares the counter of outer's (a store always goes
; on), incremented before the store.
; CHECK-LABEL: define i32 @split(
; CHECK:         call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:         getelementptr inbounds i64, ptr %zinst.sites, i64 2
; CHECK:         store i32 {{.*}}, ptr %p
; CHECK-NOT:     %zinst.counter
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:         call void @ext(
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:         ret i32
define i32 @split(i32 %x, ptr %p) {
  %r = call i32 @outer(i32 %x)
  store i32 %r, ptr %p
  call void @ext(i32 %r)
  ret i32 %r
}

; A site in a loop: the address once, before the loop; one increment per
; iteration.
; CHECK-LABEL: define void @looped(
; CHECK:         call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:       loop:
; CHECK:         getelementptr inbounds i64, ptr %zinst.sites, i64
; CHECK:         call void @ext(
; CHECK:         br i1 {{.*}}, label %exit, label %loop
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:         ret void
define void @looped(i32 %n) {
entry:
  br label %loop
loop:
  %i = phi i32 [ 0, %entry ], [ %next, %loop ]
  call void @ext(i32 %i)
  %next = add i32 %i, 1
  %done = icmp eq i32 %next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}

; Sites only in a cold branch: the address there, not on the common path.
; CHECK-LABEL: define i32 @cold_sites(
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:       rare:
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK:         call void @ext(i32 %x)
; CHECK:       done:
; CHECK-NOT:     @__zinst_site_counters)
; CHECK:         ret i32
define i32 @cold_sites(i32 %x) {
entry:
  %bad = icmp slt i32 %x, 0
  br i1 %bad, label %rare, label %done, !prof !0
rare:
  call void @ext(i32 %x)
  br label %done
done:
  %r = add i32 %x, 1
  ret i32 %r
}

!0 = !{!"branch_weights", i32 1, i32 1000}

; Every function here has entry code: no slow path, no thunk.
; CHECK-NOT:   __zinst_site_counters_thunk
; CHECK-NOT:   call ptr @__zinst_site_counters_slow

; No entry code: the test, the slow path through the thunk, and one thunk
; per table, calling the runtime with the module's descriptor.
; THUNK-LABEL: define i32 @grouped(
; THUNK-NEXT:    [[TLS:%.*]] = {{(tail )?}}call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; THUNK-NEXT:    %zinst.counters = load ptr, ptr [[TLS]]
; THUNK-NEXT:    %zinst.site_base = load i32, ptr getelementptr inbounds {{.*}}@__zinst_module, i32 0, i32 7)
; THUNK-NEXT:    %zinst.no_counters = icmp eq ptr %zinst.counters, null
; THUNK:         %zinst.sites.fast = getelementptr i64, ptr %zinst.counters, i64
; THUNK-NEXT:    br i1 %zinst.no_counters, label %[[SLOW:[0-9]+]], label %[[JOIN:[0-9]+]], !prof
; THUNK:       [[SLOW]]:
; THUNK-NEXT:    [[GOT:%.*]] = {{(tail )?}}call preserve_mostcc ptr @__zinst_site_counters_thunk()
; THUNK-NEXT:    br label %[[JOIN]]
; THUNK:       [[JOIN]]:
; THUNK-NEXT:    %zinst.sites = phi ptr [ %zinst.sites.fast, %{{[0-9]+}} ], [ [[GOT]], %[[SLOW]] ]
; THUNK:       define internal preserve_mostcc ptr @__zinst_site_counters_thunk() [[ATTRS:#[0-9]+]] {
; THUNK-NEXT:  entry:
; THUNK-NEXT:    [[SITES:%.*]] = {{(tail )?}}call ptr @__zinst_site_counters_slow(ptr @__zinst_module)
; THUNK-NEXT:    ret ptr [[SITES]]
; THUNK-NOT:   define {{.*}}@__zinst_site_counters_thunk
; THUNK:       attributes [[ATTRS]] = { cold noinline nounwind

; No thunk: the slow path calls the runtime. Uninstrumented functions count
; their sites too, from their first instruction.
; DIRECT-LABEL: define i32 @grouped(
; DIRECT-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; DIRECT:         call ptr @__zinst_site_counters_slow(ptr @__zinst_module)
; DIRECT-NEXT:    br label
; DIRECT-NOT:   __zinst_site_counters_thunk

; HOOKS-LABEL: define i32 @grouped(
; HOOKS-NEXT:    %zinst.frame = {{(tail )?}}call ptr @llvm.addressofreturnaddress.p0()
; HOOKS-NEXT:    notail call void @__zinst_enter(ptr {{(nonnull )?}}@__zinst_module, i32 {{[0-9]+}}, ptr %zinst.frame)
; HOOKS-NEXT:    [[TLS:%.*]] = {{(tail )?}}call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; HOOKS-NEXT:    %zinst.counters = load ptr, ptr [[TLS]]
; HOOKS-NEXT:    %zinst.site_base = load i32, ptr getelementptr inbounds {{.*}}@__zinst_module, i32 0, i32 7)
; HOOKS-NEXT:    [[BASE:%.*]] = zext i32 %zinst.site_base to i64
; HOOKS-NEXT:    %zinst.sites = getelementptr i64, ptr %zinst.counters, i64 [[BASE]]
; HOOKS-NOT:     __zinst_site_counters_thunk
