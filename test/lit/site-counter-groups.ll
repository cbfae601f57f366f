; The shape of the site increments at the end of the pipeline. Sites counted
; one right after the other, with only instructions between that cannot
; trap, call or write memory, share one load and test of the thread's
; counters; a call or a store starts a new test. The slow path (no counters
; yet) goes through the module's preserve_most thunk on x86-64 and AArch64,
; and calls __zinst_count_site itself elsewhere. Every site keeps exactly
; one increment and one slow-path call.
; RUN: %opt-zinst -passes='default<O2>' -S %s | FileCheck %s
; RUN: sed 's/x86_64-unknown-linux-gnu/aarch64-unknown-linux-gnu/' %s \
; RUN:   | %opt-zinst -passes='default<O2>' -S | FileCheck %s
; RUN: sed 's/x86_64-unknown-linux-gnu/riscv64-unknown-linux-gnu/' %s \
; RUN:   | %opt-zinst -passes='default<O2>' -zinst-include=no-such-function -S \
; RUN:   | FileCheck %s --check-prefix=DIRECT
; The code generator takes the thunk's calling convention on both targets.
; RUN: %opt-zinst -passes='default<O2>' %s -o %t.x86.bc
; RUN: %llc %t.x86.bc -o /dev/null
; RUN: sed 's/x86_64-unknown-linux-gnu/aarch64-unknown-linux-gnu/' %s \
; RUN:   | %opt-zinst -passes='default<O2>' -o %t.arm.bc
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
; the first ext() call: one test, three increments. The second ext() call
; comes after a call: a test of its own.
; CHECK-LABEL: define i32 @grouped(
; CHECK:         [[TLS:%.*]] = call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NEXT:    %zinst.counters = load ptr, ptr [[TLS]]
; CHECK-NEXT:    [[MISSING:%.*]] = icmp eq ptr %zinst.counters, null
; CHECK-NEXT:    br i1 [[MISSING]], label %[[SLOW:[0-9]+]], label %[[FAST:[0-9]+]], !prof
; CHECK:       [[SLOW]]:
; CHECK-NEXT:    call preserve_mostcc void @__zinst_count_site_slow(i32 [[OUTER:[0-9]+]])
; CHECK-NEXT:    call preserve_mostcc void @__zinst_count_site_slow(i32 [[INNER:[0-9]+]])
; CHECK-NEXT:    call preserve_mostcc void @__zinst_count_site_slow(i32 [[EXT1:[0-9]+]])
; CHECK-NEXT:    br label %[[JOIN:[0-9]+]]
; CHECK:       [[FAST]]:
; CHECK:         add i32 %zinst.site_base, [[OUTER]]
; CHECK:         store i64
; CHECK:         add i32 %zinst.site_base{{[0-9]+}}, [[INNER]]
; CHECK:         store i64
; CHECK:         add i32 %zinst.site_base{{[0-9]+}}, [[EXT1]]
; CHECK:         store i64
; CHECK-NEXT:    br label %[[JOIN]]
; CHECK:       [[JOIN]]:
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         call void @ext(
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK:         call preserve_mostcc void @__zinst_count_site_slow(i32 [[EXT2:[0-9]+]])
; CHECK-NEXT:    br label
; CHECK:         add i32 %zinst.site_base{{[0-9]+}}, [[EXT2]]
; CHECK:         call void @ext(i32 %x)
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         ret i32
define i32 @grouped(i32 %x) {
  %r = call i32 @outer(i32 %x)
  call void @ext(i32 %r)
  call void @ext(i32 %x)
  ret i32 %r
}

; A store between the markers and the call: two tests.
; CHECK-LABEL: define i32 @split(
; CHECK:         call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK:         call preserve_mostcc void @__zinst_count_site_slow(i32 {{[0-9]+}})
; CHECK-NEXT:    call preserve_mostcc void @__zinst_count_site_slow(i32 {{[0-9]+}})
; CHECK-NEXT:    br label
; CHECK:         store i32 {{.*}}, ptr %p
; CHECK-NEXT:    call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK:         call preserve_mostcc void @__zinst_count_site_slow(i32 {{[0-9]+}})
; CHECK-NEXT:    br label
; CHECK:         call void @ext(
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         ret i32
define i32 @split(i32 %x, ptr %p) {
  %r = call i32 @outer(i32 %x)
  store i32 %r, ptr %p
  call void @ext(i32 %r)
  ret i32 %r
}

; One thunk per table, calling the runtime with the module's descriptor.
; CHECK:       define internal preserve_mostcc void @__zinst_count_site_slow(i32 [[INDEX:%.*]]) [[ATTRS:#[0-9]+]] {
; CHECK-NEXT:  entry:
; CHECK-NEXT:    call void @__zinst_count_site(ptr @__zinst_module, i32 [[INDEX]])
; CHECK-NEXT:    ret void
; CHECK-NOT:   define {{.*}}@__zinst_count_site_slow
; CHECK:       attributes [[ATTRS]] = { cold noinline nounwind

; No thunk: each slow path calls the runtime.
; DIRECT-LABEL: define i32 @grouped(
; DIRECT:         call void @__zinst_count_site(ptr @__zinst_module, i32 {{[0-9]+}})
; DIRECT-NEXT:    call void @__zinst_count_site(ptr @__zinst_module, i32 {{[0-9]+}})
; DIRECT-NEXT:    call void @__zinst_count_site(ptr @__zinst_module, i32 {{[0-9]+}})
; DIRECT-NEXT:    br label
; DIRECT-NOT:   __zinst_count_site_slow
