; Running the pass twice adds nothing; a second run that finds new
; functions emits a second table and leaves the first one alone.
; RUN: %opt-zinst-hooks -passes=zinst -S %s -o %t.once.ll
; RUN: %opt-zinst-hooks -passes=zinst,zinst -S %s -o %t.twice.ll
; RUN: diff %t.once.ll %t.twice.ll
; RUN: FileCheck %s --input-file=%t.twice.ll

; One table of two rows, one ctor, one dtor, one enter per function.
; CHECK:         @__zinst_functions = private constant [2 x { ptr, ptr, ptr, i32, i32 }]
; CHECK-NOT:     @__zinst_functions.1
; CHECK:         @llvm.global_ctors = appending global [1 x { i32, ptr, ptr }]
; CHECK:         @llvm.global_dtors = appending global [1 x { i32, ptr, ptr }]
; CHECK-LABEL: define i32 @f(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    %y = mul i32 %x, 3
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 %y
; CHECK-LABEL: define i32 @g(
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 7
; CHECK-NOT:     __zinst_module.1

; Feeding the output of one run to another (two opt processes, as ThinLTO's
; compile and link halves do with LLVM 19) changes nothing either.
; RUN: %opt-zinst-hooks -passes=zinst %t.once.ll -S | grep -v '^; ModuleID' > %t.again.ll
; RUN: grep -v '^; ModuleID' %t.once.ll > %t.once.noid.ll
; RUN: diff %t.once.noid.ll %t.again.ll

; First run: only @f. Second run: @g is new and gets its own table.
; RUN: %opt-zinst-hooks -passes=zinst -zinst-include=f -S %s \
; RUN:   | %opt-zinst-hooks -passes=zinst -S | FileCheck %s --check-prefix=SECOND
; SECOND: @__zinst_functions = private constant [1 x { ptr, ptr, ptr, i32, i32 }]
; SECOND: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 1, ptr @__zinst_functions,
; SECOND: [[TABLE2:@__zinst_functions\.[0-9]+]] = private constant [1 x { ptr, ptr, ptr, i32, i32 }]
; SECOND: [[MODULE2:@__zinst_module\.[0-9]+]] = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 1, ptr [[TABLE2]],
; SECOND: @llvm.global_ctors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 101, ptr @__zinst_ctor, ptr null }, { i32, ptr, ptr } { i32 101, ptr [[CTOR2:@__zinst_ctor\.[0-9]+]], ptr null }]
; SECOND: @llvm.global_dtors = appending global [2 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 101, ptr @__zinst_dtor, ptr null }, { i32, ptr, ptr } { i32 101, ptr [[DTOR2:@__zinst_dtor\.[0-9]+]], ptr null }]
; SECOND-LABEL: define i32 @f(
; SECOND-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; SECOND-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; SECOND-NOT:     call void @__zinst_enter
; SECOND-LABEL: define i32 @g(
; SECOND-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; SECOND-NEXT:    call void @__zinst_enter(ptr [[MODULE2]], i32 0, ptr [[FRAME]])
; SECOND-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; SECOND-NEXT:    call void @__zinst_exit(ptr [[MODULE2]], i32 0, ptr [[FRAME]])
; SECOND-NEXT:    ret i32 7
; SECOND:       define internal void @__zinst_ctor()
; SECOND-NEXT:  entry:
; SECOND-NEXT:    call void @__zinst_register_module(ptr @__zinst_module)
; SECOND:       define internal void [[CTOR2]]()
; SECOND-NEXT:  entry:
; SECOND-NEXT:    call void @__zinst_register_module(ptr [[MODULE2]])
; SECOND:       define internal void [[DTOR2]]()
; SECOND-NEXT:  entry:
; SECOND-NEXT:    call void @__zinst_unregister_module(ptr [[MODULE2]])

define i32 @f(i32 %x) {
  %y = mul i32 %x, 3
  ret i32 %y
}

define i32 @g() {
  ret i32 7
}
