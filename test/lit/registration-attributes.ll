; The module's constructor and destructor (__zinst_ctor, __zinst_dtor) take
; the attributes that select the subtarget from the module's first defined
; function: without them the code generator builds a second subtarget for
; these two functions alone, which costs more than the rest of the table in
; a small file. Other attributes (uwtable, optsize) stay the function's own.
; RUN: %opt-zinst -passes=zinst -S %s | FileCheck %s
; A module whose code names no subtarget gives them none either.
; RUN: sed -e 's/ "target-cpu"="x86-64" "target-features"="+cx8,+sse2" "tune-cpu"="generic" "min-legal-vector-width"="0" "prefer-vector-width"="128"//' %s \
; RUN:   | %opt-zinst -passes=zinst -S | FileCheck %s --check-prefix=PLAIN

target triple = "x86_64-unknown-linux-gnu"

declare i32 @elsewhere(i32) #1

define i32 @work(i32 %x) #0 {
  %r = add i32 %x, 1
  ret i32 %r
}

define i32 @other(i32 %x) #1 {
  %r = call i32 @elsewhere(i32 %x)
  ret i32 %r
}

attributes #0 = { uwtable optsize "target-cpu"="x86-64" "target-features"="+cx8,+sse2" "tune-cpu"="generic" "min-legal-vector-width"="0" "prefer-vector-width"="128" }
attributes #1 = { "target-cpu"="znver3" }

; CHECK-LABEL: define internal void @__zinst_ctor()
; CHECK-SAME:    #[[REG:[0-9]+]]
; CHECK-LABEL: define internal void @__zinst_dtor()
; CHECK-SAME:    #[[REG]]
; CHECK: attributes #[[REG]] = { nounwind "min-legal-vector-width"="0" "prefer-vector-width"="128" "target-cpu"="x86-64" "target-features"="+cx8,+sse2" "tune-cpu"="generic" }

; PLAIN-LABEL: define internal void @__zinst_ctor()
; PLAIN-SAME:    #[[REG:[0-9]+]]
; PLAIN: attributes #[[REG]] = { nounwind }
