// clang loads the plugin with -fpass-plugin at -O0 and -O2. At -O2 the pass
// runs after inlining: a static helper inlined into its caller is gone and
// gets no hooks, so no row in the table.
// RUN: env ZINST_INLINE_TREE=0 %clang -O0 -S -emit-llvm -fpass-plugin=%plugin %s -o - | FileCheck %s --check-prefixes=CHECK,O0
// RUN: env ZINST_INLINE_TREE=0 %clang -O2 -S -emit-llvm -fpass-plugin=%plugin %s -o - | FileCheck %s --check-prefixes=CHECK,O2

static int helper(int x) { return x * 2 + 1; }

int entry_point(int x) { return helper(x) + helper(x + 1); }

// O0: @__zinst_functions = private constant [2 x
// O2: @__zinst_functions = private constant [1 x
// CHECK-LABEL: define {{.*}}i32 @entry_point(
// CHECK-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
// CHECK-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]])
// O0:            call {{.*}}@helper(
// O2-NOT:        call {{.*}}@helper(
// CHECK:         [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
// CHECK-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]])
// CHECK-NEXT:    ret i32
// O0-LABEL:    define internal i32 @helper(
// O0-NEXT:       [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
// O0-NEXT:       call void @__zinst_enter(ptr @__zinst_module, i32 1, ptr [[FRAME]])
// O2-NOT:      @helper(
