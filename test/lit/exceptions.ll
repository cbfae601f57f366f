; An exception that leaves the function through a landing pad's `resume`
; gets an exit hook; a landing pad that catches continues in the function
; and gets none.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s

declare void @may_throw()
declare void @cleanup()
declare ptr @__cxa_begin_catch(ptr)
declare void @__cxa_end_catch()
declare i32 @__gxx_personality_v0(...)

define void @cleanup_and_resume() personality ptr @__gxx_personality_v0 {
; CHECK-LABEL: define void @cleanup_and_resume(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    invoke void @may_throw()
; CHECK:       cont:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    ret void
; CHECK:       lpad:
; CHECK-NEXT:    %lp = landingpad { ptr, i32 }
; CHECK-NEXT:    cleanup
; CHECK-NEXT:    call void @cleanup()
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
; CHECK-NEXT:    resume { ptr, i32 } %lp
entry:
  invoke void @may_throw() to label %cont unwind label %lpad
cont:
  ret void
lpad:
  %lp = landingpad { ptr, i32 } cleanup
  call void @cleanup()
  resume { ptr, i32 } %lp
}

define i32 @catches() personality ptr @__gxx_personality_v0 {
; CHECK-LABEL: define i32 @catches(
; CHECK-NEXT:  entry:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    invoke void @may_throw()
; CHECK:       cont:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 0
; CHECK:       lpad:
; CHECK-NEXT:    %lp = landingpad { ptr, i32 }
; CHECK-NEXT:    catch ptr null
; CHECK-NEXT:    %exn = extractvalue { ptr, i32 } %lp, 0
; CHECK-NEXT:    %obj = call ptr @__cxa_begin_catch(ptr %exn)
; CHECK-NEXT:    call void @__cxa_end_catch()
; CHECK-NEXT:    br label %caught
; CHECK:       caught:
; CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
; CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 1, ptr [[FRAME]])
; CHECK-NEXT:    ret i32 1
entry:
  invoke void @may_throw() to label %cont unwind label %lpad
cont:
  ret i32 0
lpad:
  %lp = landingpad { ptr, i32 } catch ptr null
  %exn = extractvalue { ptr, i32 } %lp, 0
  %obj = call ptr @__cxa_begin_catch(ptr %exn)
  call void @__cxa_end_catch()
  br label %caught
caught:
  ret i32 1
}

; Exactly four exits: the first function's return and resume, the second's
; two returns.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | grep -c 'call void @__zinst_exit' | FileCheck %s --check-prefix=EXITS
; EXITS: {{^}}4{{$}}
; The hooks are nounwind: no invoke of a hook, no new landing pad.
; RUN: %opt-zinst-hooks -passes=zinst -S %s | FileCheck %s --check-prefix=NOINVOKE
; NOINVOKE-NOT: invoke void @__zinst
; RUN: %opt-zinst-hooks -passes=zinst -S %s | grep -c landingpad | FileCheck %s --check-prefix=PADS
; PADS: {{^}}2{{$}}
