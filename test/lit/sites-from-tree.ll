; Calls that were not inlined, whose count the calling-context tree already
; holds (ZINST_SITE_INFO_TREE, 0x800): the calls of the callee's contexts
; under the caller's. Such a site gets no counter; the runtime adds up the
; tree when it writes the profile. The pass flags a site so only where
; nothing else can make a callee context under the caller's: flags 2068
; (0x814: noinline, counted, from the tree) with the caller's and the
; callee's function indices, against 20 (0x14: counted by a counter) and
; indices 0.
; RUN: %opt-zinst -zinst-exclude=excluded -passes='default<O2>' -S %s | FileCheck %s
; RUN: %opt-zinst-hooks -zinst-exclude=excluded -passes='default<O2>' -S %s | FileCheck %s

; CHECK-DAG: [[REC:@__zinst_str[.0-9]*]] = private unnamed_addr constant [4 x i8] c"rec\00"
; CHECK-DAG: [[LEAF:@__zinst_str[.0-9]*]] = private unnamed_addr constant [5 x i8] c"leaf\00"
; CHECK-DAG: [[TWO:@__zinst_str[.0-9]*]] = private unnamed_addr constant [10 x i8] c"two_calls\00"
; CHECK-DAG: [[WEXT:@__zinst_str[.0-9]*]] = private unnamed_addr constant [9 x i8] c"with_ext\00"
; CHECK-DAG: [[HIDDEN:@__zinst_str[.0-9]*]] = private unnamed_addr constant [7 x i8] c"hidden\00"
; CHECK-DAG: [[WHIDDEN:@__zinst_str[.0-9]*]] = private unnamed_addr constant [16 x i8] c"with_ext_hidden\00"
; CHECK-DAG: [[TAKEN:@__zinst_str[.0-9]*]] = private unnamed_addr constant [6 x i8] c"taken\00"
; CHECK-DAG: [[WTAKEN:@__zinst_str[.0-9]*]] = private unnamed_addr constant [15 x i8] c"with_ext_taken\00"
; CHECK-DAG: [[EXCL:@__zinst_str[.0-9]*]] = private unnamed_addr constant [9 x i8] c"excluded\00"
; CHECK-DAG: [[CEXCL:@__zinst_str[.0-9]*]] = private unnamed_addr constant [15 x i8] c"calls_excluded\00"
; CHECK-DAG: [[TAILER:@__zinst_str[.0-9]*]] = private unnamed_addr constant [7 x i8] c"tailer\00"
; CHECK-DAG: [[PICK:@__zinst_str[.0-9]*]] = private unnamed_addr constant [5 x i8] c"pick\00"
; CHECK-DAG: [[SIBEXT:@__zinst_str[.0-9]*]] = private unnamed_addr constant [8 x i8] c"sib_ext\00"
; CHECK-DAG: [[CSIBEXT:@__zinst_str[.0-9]*]] = private unnamed_addr constant [14 x i8] c"calls_sib_ext\00"
; CHECK-DAG: [[PREEMPT:@__zinst_str[.0-9]*]] = private unnamed_addr constant [12 x i8] c"preemptible\00"
; CHECK-DAG: [[CPREEMPT:@__zinst_str[.0-9]*]] = private unnamed_addr constant [18 x i8] c"calls_preemptible\00"
; CHECK-DAG: [[COPY:@__zinst_str[.0-9]*]] = private unnamed_addr constant [12 x i8] c"inline_copy\00"
; CHECK-DAG: [[CCOPY:@__zinst_str[.0-9]*]] = private unnamed_addr constant [11 x i8] c"calls_copy\00"
;
; Function indices, in the module's order (excluded has none): rec 0,
; leaf 1, two_calls 2, with_ext 3, hidden 4, with_ext_hidden 5, taken 6,
; with_ext_taken 7, calls_excluded 8, tailer 9, pick 10, sib_ext 11,
; calls_sib_ext 12, preemptible 13, calls_preemptible 14, inline_copy 15,
; calls_copy 16.
; CHECK-DAG: @__zinst_functions = private constant [17 x
;
; A self-recursion that calls nothing else: from the tree.
; CHECK-DAG: { ptr [[REC]], ptr [[REC]], ptr [[REC]], ptr [[REC]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 2068, i32 0, i32 0, i32 {{[0-9]+}}, i32 0, i32 0, i32 0 }
; Two calls of one callee: each is a site of its own, not from the tree.
; leaf always returns, so both calls run as often: the second shares the
; first's counter (shared_counter: 1 + the first's row, the one before).
; CHECK-DAG: { ptr [[TWO]], ptr [[TWO]], ptr [[LEAF]], ptr [[LEAF]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }, { ptr, {{[^}]*}} } { ptr [[TWO]], ptr [[TWO]], ptr [[LEAF]], ptr [[LEAF]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 {{[1-9][0-9]*}} }
; A call of code that is not instrumented (ext could call leaf) ...
; CHECK-DAG: { ptr [[WEXT]], ptr [[WEXT]], ptr [[LEAF]], ptr [[LEAF]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; ... unless the callee is local, its address never taken, and all its
; callers instrumented ...
; CHECK-DAG: { ptr [[WHIDDEN]], ptr [[WHIDDEN]], ptr [[HIDDEN]], ptr [[HIDDEN]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 2068, i32 0, i32 0, i32 2, i32 5, i32 4, i32 0 }
; ... which taken's is (@table).
; CHECK-DAG: { ptr [[WTAKEN]], ptr [[WTAKEN]], ptr [[TAKEN]], ptr [[TAKEN]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; A callee that is not instrumented has no context to count.
; CHECK-DAG: { ptr [[CEXCL]], ptr [[CEXCL]], ptr [[EXCL]], ptr [[EXCL]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; A sibling call runs after the caller's context ended: its callee counts
; under the caller's caller.
; CHECK-DAG: { ptr [[TAILER]], ptr [[TAILER]], ptr [[LEAF]], ptr [[LEAF]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; So pick's call of leaf is not the only way leaf runs in pick's context
; (tailer's sibling call is another); its call of tailer is.
; CHECK-DAG: { ptr [[PICK]], ptr [[PICK]], ptr [[TAILER]], ptr [[TAILER]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 2068, i32 0, i32 0, i32 2, i32 10, i32 9, i32 0 }
; CHECK-DAG: { ptr [[PICK]], ptr [[PICK]], ptr [[LEAF]], ptr [[LEAF]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; A callee that may not be the one that runs: a counter.
; CHECK-DAG: { ptr [[CPREEMPT]], ptr [[CPREEMPT]], ptr [[PREEMPT]], ptr [[PREEMPT]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; CHECK-DAG: { ptr [[CCOPY]], ptr [[CCOPY]], ptr [[COPY]], ptr [[COPY]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 2, i32 0, i32 0, i32 0 }
; The callee's own sibling calls count too.
; CHECK-DAG: { ptr [[CSIBEXT]], ptr [[CSIBEXT]], ptr [[SIBEXT]], ptr [[SIBEXT]], ptr {{@[^,]*}}, ptr {{@[^,]*}}, i32 0, i32 0, i32 20, i32 0, i32 0, i32 {{[0-9]+}}, i32 0, i32 0, i32 0 }

; No counter where every site comes from the tree; in pick, only that of
; its call of leaf, on that call's path.
; CHECK-LABEL: define dso_local i64 @rec(
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         call i64 @rec(
; CHECK-NOT:     @__zinst_site_counters
; CHECK-LABEL: define dso_local i32 @leaf(
; Both calls of leaf, one increment, of the first's counter, before them.
; CHECK-LABEL: define dso_local i32 @two_calls(
; CHECK:         %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 [[TWO_FIRST:[0-9]+]]
; CHECK-NEXT:    load i64, ptr %zinst.counter
; CHECK-NEXT:    add i64
; CHECK-NEXT:    store i64 {{.*}}, ptr %zinst.counter,
; CHECK-NEXT:    %a = tail call i32 @leaf(i32 %x)
; CHECK-NEXT:    %b = tail call i32 @leaf(i32 %a)
; CHECK-NOT:     %zinst.counter
; CHECK:         ret i32
; The call of ext (definition unavailable) comes after leaf's, which
; always returns: it shares that counter too.
; CHECK-LABEL: define dso_local i32 @with_ext(
; CHECK:         %zinst.counter = getelementptr inbounds i64, ptr %zinst.sites, i64 [[WEXT_LEAF:[0-9]+]]
; CHECK-NEXT:    load i64, ptr %zinst.counter
; CHECK-NEXT:    add i64
; CHECK-NEXT:    store i64 {{.*}}, ptr %zinst.counter,
; CHECK-NEXT:    %a = tail call i32 @leaf(i32 %x)
; CHECK-NEXT:    tail call void @ext(i32 %a)
; CHECK-NOT:     %zinst.counter
; CHECK:         ret i32
; CHECK-LABEL: define dso_local i32 @pick(
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         call i32 @tailer(
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         call ptr @llvm.threadlocal.address.p0(ptr @__zinst_site_counters)
; CHECK-NOT:     @__zinst_site_counters
; CHECK:         call i32 @leaf(

target triple = "x86_64-unknown-linux-gnu"

declare void @ext(i32)

@table = global ptr @taken

define dso_local i64 @rec(i64 %n) noinline {
entry:
  %small = icmp slt i64 %n, 2
  br i1 %small, label %done, label %more
more:
  %m = sub i64 %n, 1
  %r = call i64 @rec(i64 %m)
  %d = sub i64 %n, %r
  ret i64 %d
done:
  ret i64 %n
}

define dso_local i32 @leaf(i32 %x) noinline {
  %y = mul i32 %x, %x
  ret i32 %y
}

define dso_local i32 @two_calls(i32 %x) noinline {
  %a = call i32 @leaf(i32 %x)
  %b = call i32 @leaf(i32 %a)
  %c = sub i32 %a, %b
  ret i32 %c
}

define dso_local i32 @with_ext(i32 %x) noinline {
  %a = call i32 @leaf(i32 %x)
  call void @ext(i32 %a)
  ret i32 %a
}

define internal i32 @hidden(i32 %x) noinline {
  %y = add i32 %x, 7
  ret i32 %y
}

define dso_local i32 @with_ext_hidden(i32 %x) noinline {
  %a = call i32 @hidden(i32 %x)
  call void @ext(i32 %a)
  ret i32 %a
}

define internal i32 @taken(i32 %x) noinline {
  %y = add i32 %x, 9
  ret i32 %y
}

define dso_local i32 @with_ext_taken(i32 %x) noinline {
  %a = call i32 @taken(i32 %x)
  call void @ext(i32 %a)
  ret i32 %a
}

define dso_local i32 @excluded(i32 %x) noinline {
  %y = add i32 %x, 3
  ret i32 %y
}

define dso_local i32 @calls_excluded(i32 %x) noinline {
  %a = call i32 @excluded(i32 %x)
  %b = sub i32 %x, %a
  ret i32 %b
}

define dso_local i32 @tailer(i32 %x) noinline {
  %a = tail call i32 @leaf(i32 %x)
  ret i32 %a
}

define dso_local i32 @pick(i32 %x) noinline {
  %odd = and i32 %x, 1
  %isodd = icmp ne i32 %odd, 0
  br i1 %isodd, label %o, label %e
o:
  %a = call i32 @tailer(i32 %x)
  %a2 = sub i32 %x, %a
  ret i32 %a2
e:
  %b = call i32 @leaf(i32 %x)
  %b2 = sub i32 %x, %b
  ret i32 %b2
}

declare i32 @ext_value(i32)

; Its sibling call runs ext_value in the caller's context: code that is not
; instrumented, which could call sib_ext again.
define dso_local i32 @sib_ext(i32 %x) noinline {
  %r = call i32 @ext_value(i32 %x)
  ret i32 %r
}

define dso_local i32 @calls_sib_ext(i32 %x) noinline {
  %r = call i32 @sib_ext(i32 %x)
  %s = sub i32 %x, %r
  ret i32 %s
}

; A shared library's default-visibility function (not dso_local): the
; dynamic linker may run another definition in its place.
define i32 @preemptible(i32 %x) noinline {
  %y = add i32 %x, 5
  ret i32 %y
}

define dso_local i32 @calls_preemptible(i32 %x) noinline {
  %r = call i32 @preemptible(i32 %x)
  %s = sub i32 %x, %r
  ret i32 %s
}

; A copy the linker may drop for another module's (linkonce_odr).
define linkonce_odr dso_local i32 @inline_copy(i32 %x) noinline {
  %y = add i32 %x, 6
  ret i32 %y
}

define dso_local i32 @calls_copy(i32 %x) noinline {
  %r = call i32 @inline_copy(i32 %x)
  %s = sub i32 %x, %r
  ret i32 %s
}
