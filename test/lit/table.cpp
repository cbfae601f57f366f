// The module table: display names (C++ demangled), linkage names, file and
// line from debug info with -g, the module's source name and line 0 without.
// RUN: env ZINST_INLINE_TREE=0 %clang -x c++ -O1 -g -S -emit-llvm -fpass-plugin=%plugin %s -o - | FileCheck %s --check-prefix=DEBUG -DSRC=%s
// RUN: env ZINST_INLINE_TREE=0 %clang -x c++ -O1 -S -emit-llvm -fpass-plugin=%plugin %s -o - | FileCheck %s --check-prefix=NODEBUG -DSRC=%s

namespace ns {
__attribute__((noinline)) int f(int x) { return x * 3 + 1; }
} // namespace ns

extern "C" __attribute__((noinline)) int plain_c(int x) { return ns::f(x) + 2; }

// Rows in definition order; strings are shared (one global per text).
// DEBUG-DAG: [[F_NAME:@__zinst_str[.0-9]*]] = private unnamed_addr constant [11 x i8] c"ns::f(int)\00", align 1
// DEBUG-DAG: [[F_LINK:@__zinst_str[.0-9]*]] = private unnamed_addr constant [11 x i8] c"_ZN2ns1fEi\00", align 1
// DEBUG-DAG: [[FILE_STR:@__zinst_str[.0-9]*]] = private unnamed_addr constant [{{[0-9]+}} x i8] c"[[SRC]]\00", align 1
// DEBUG-DAG: [[C_NAME:@__zinst_str[.0-9]*]] = private unnamed_addr constant [8 x i8] c"plain_c\00", align 1
// DEBUG: @__zinst_functions = private constant [2 x { ptr, ptr, ptr, i32, i32 }] [{ ptr, ptr, ptr, i32, i32 } { ptr [[F_NAME]], ptr [[F_LINK]], ptr [[FILE_STR]], i32 7, i32 1 }, { ptr, ptr, ptr, i32, i32 } { ptr [[C_NAME]], ptr [[C_NAME]], ptr [[FILE_STR]], i32 10, i32 1 }]
// One site: plain_c's call of the noinline ns::f (test/lit/inline-*.c test sites).
// DEBUG: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 2, ptr @__zinst_functions, ptr [[FILE_STR]], i32 -2147483648, i32 0, i32 1, i32 0, ptr @__zinst_sites, i32 0, i32 0, ptr null }
// DEBUG: @llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 101, ptr @__zinst_ctor, ptr null }]
// DEBUG: @llvm.global_dtors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 101, ptr @__zinst_dtor, ptr null }]

// Inserted calls carry a line-0 location in the function's subprogram.
// DEBUG-LABEL: define {{.*}} @_ZN2ns1fEi(
// DEBUG-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0(), !dbg [[ENTER_LOC:![0-9]+]]
// DEBUG-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]]), !dbg [[ENTER_LOC]]
// DEBUG:         [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0(), !dbg [[ENTER_LOC]]
// DEBUG-NEXT:    call void @__zinst_exit(ptr @__zinst_module, i32 0, ptr [[FRAME]]), !dbg [[ENTER_LOC]]
// DEBUG-NEXT:    ret i32
// DEBUG-LABEL: define {{.*}} @plain_c(
// DEBUG-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0(), !dbg [[C_LOC:![0-9]+]]
// DEBUG-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 1, ptr [[FRAME]]), !dbg [[C_LOC]]
// DEBUG:         [[F_SP:![0-9]+]] = distinct !DISubprogram(name: "f", linkageName: "_ZN2ns1fEi"
// DEBUG:         [[ENTER_LOC]] = !DILocation(line: 0, scope: [[F_SP]])

// NODEBUG-DAG: [[F_NAME:@__zinst_str[.0-9]*]] = private unnamed_addr constant [11 x i8] c"ns::f(int)\00", align 1
// NODEBUG-DAG: [[F_LINK:@__zinst_str[.0-9]*]] = private unnamed_addr constant [11 x i8] c"_ZN2ns1fEi\00", align 1
// NODEBUG-DAG: [[FILE_STR:@__zinst_str[.0-9]*]] = private unnamed_addr constant [{{[0-9]+}} x i8] c"[[SRC]]\00", align 1
// NODEBUG-DAG: [[C_NAME:@__zinst_str[.0-9]*]] = private unnamed_addr constant [8 x i8] c"plain_c\00", align 1
// NODEBUG: @__zinst_functions = private constant [2 x { ptr, ptr, ptr, i32, i32 }] [{ ptr, ptr, ptr, i32, i32 } { ptr [[F_NAME]], ptr [[F_LINK]], ptr [[FILE_STR]], i32 0, i32 0 }, { ptr, ptr, ptr, i32, i32 } { ptr [[C_NAME]], ptr [[C_NAME]], ptr [[FILE_STR]], i32 0, i32 0 }]
// NODEBUG: @__zinst_module = internal global { i32, i32, ptr, ptr, i32, i32, i32, i32, ptr, i32, i32, ptr } { i32 15, i32 2, ptr @__zinst_functions, ptr [[FILE_STR]], i32 -2147483648, i32 0, i32 1, i32 0, ptr @__zinst_sites, i32 0, i32 0, ptr null }
// NODEBUG-LABEL: define {{.*}} @_ZN2ns1fEi(
// NODEBUG-NEXT:    [[FRAME:%[a-z0-9._]+]] = call ptr @llvm.{{addressofreturnaddress|sponentry}}.p0()
// NODEBUG-NEXT:    call void @__zinst_enter(ptr @__zinst_module, i32 0, ptr [[FRAME]]){{$}}
