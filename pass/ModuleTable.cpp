//===- ModuleTable.cpp - the per-module function table and its registration ===//
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Demangle/Demangle.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Path.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"

#include <vector>

using namespace llvm;

namespace zinst {

std::string sourcePath(StringRef Directory, StringRef Name) {
  SmallString<256> Path;
  if (!sys::path::is_absolute(Name) && !Directory.empty())
    Path = Directory;
  sys::path::append(Path, Name);
  // Zig 0.17 names files relative to the working directory of the build
  // ("../../src/main.zig"); reports and the library-directory test want the
  // plain path.
  sys::path::remove_dots(Path, /*remove_dot_dot=*/true);
  return Path.str().str();
}

FunctionDescription describeFunction(Function &F) {
  FunctionDescription Desc;
  Desc.Function = &F;
  StringRef LinkageName = F.getName();
  // Only Itanium C++ names are demangled: Zig and C names (`main.Env.step`)
  // are already what the user wrote, and must not be mistaken for another
  // scheme's mangling.
  Desc.DisplayName =
      LinkageName.starts_with("_Z") ? demangle(LinkageName.str()) : LinkageName.str();

  if (const DISubprogram *SP = F.getSubprogram()) {
    Desc.File = sourcePath(SP->getDirectory(), SP->getFilename());
    Desc.Line = SP->getLine();
    Desc.FromDebugInfo = true;
  } else {
    Desc.File = F.getParent()->getSourceFileName();
  }
  return Desc;
}

namespace {

/// Builds the module's constant strings, one global per distinct text (many
/// functions share a file name).
class StringPool {
public:
  explicit StringPool(Module &M) : M(M) {}

  Constant *get(StringRef Text) {
    auto [It, Inserted] = Cache.try_emplace(Text, nullptr);
    if (!Inserted)
      return It->second;
    Constant *Init = ConstantDataArray::getString(M.getContext(), Text, /*AddNull=*/true);
    auto *GV = new GlobalVariable(M, Init->getType(), /*isConstant=*/true,
                                  GlobalValue::PrivateLinkage, Init, "__zinst_str");
    GV->setUnnamedAddr(GlobalValue::UnnamedAddr::Global);
    GV->setAlignment(Align(1));
    It->second = GV;
    return GV;
  }

private:
  Module &M;
  StringMap<Constant *> Cache;
};

/// Emits `define internal void @Name() { call void @Hook(ptr @ModuleInfo) }`.
/// Its name starts with __zinst, so the pass never instruments it.
Function *emitRegistrationCall(Module &M, StringRef Name, StringRef HookName,
                               GlobalVariable *ModuleInfo) {
  LLVMContext &Ctx = M.getContext();
  Type *VoidTy = Type::getVoidTy(Ctx);
  FunctionCallee Hook =
      M.getOrInsertFunction(HookName, FunctionType::get(VoidTy, {PointerType::getUnqual(Ctx)},
                                                        /*isVarArg=*/false));
  Function *F = Function::Create(FunctionType::get(VoidTy, /*isVarArg=*/false),
                                 GlobalValue::InternalLinkage, Name, M);
  F->addFnAttr(Attribute::NoUnwind);
  // The attributes that select the module's subtarget: without them the
  // code generator builds a second one for this function alone, which
  // costs more than the rest of the table in a small file.
  for (const Function &Other : M) {
    if (Other.isDeclaration() || &Other == F)
      continue;
    for (StringRef Kind : {"target-cpu", "target-features", "tune-cpu", "min-legal-vector-width",
                           "prefer-vector-width", "use-soft-float"})
      if (Other.hasFnAttribute(Kind))
        F->addFnAttr(Other.getFnAttribute(Kind));
    break;
  }
  IRBuilder<> B(BasicBlock::Create(Ctx, "entry", F));
  B.CreateCall(Hook, {ModuleInfo});
  B.CreateRetVoid();
  return F;
}

} // namespace

GlobalVariable *emitModuleTable(Module &M, ArrayRef<FunctionDescription> Functions,
                                ArrayRef<SiteDecision> Sites, uint32_t ModuleFlags) {
  LLVMContext &Ctx = M.getContext();
  Type *PtrTy = PointerType::getUnqual(Ctx);
  Type *I32Ty = Type::getInt32Ty(Ctx);
  StringPool Strings(M);

  // struct zinst_function_info {name, linkage_name, file, line, flags}
  StructType *InfoTy = StructType::get(Ctx, {PtrTy, PtrTy, PtrTy, I32Ty, I32Ty});
  std::vector<Constant *> Rows;
  Rows.reserve(Functions.size());
  for (const FunctionDescription &Desc : Functions) {
    uint32_t Flags = Desc.FromDebugInfo ? ZINST_FUNCTION_INFO_DEBUG : 0;
    if (Desc.Library)
      Flags |= ZINST_FUNCTION_INFO_LIBRARY;
    Rows.push_back(ConstantStruct::get(
        InfoTy, {Strings.get(Desc.DisplayName), Strings.get(Desc.Function->getName()),
                 Strings.get(Desc.File), ConstantInt::get(I32Ty, Desc.Line),
                 ConstantInt::get(I32Ty, Flags)}));
  }
  // A table of sites only (functions instrumented by an earlier run, e.g.
  // LLVM 19's pre-link half of LTO) has no function array.
  Constant *Table = ConstantPointerNull::get(PointerType::getUnqual(Ctx));
  if (!Rows.empty()) {
    ArrayType *TableTy = ArrayType::get(InfoTy, Rows.size());
    Table = new GlobalVariable(M, TableTy, /*isConstant=*/true, GlobalValue::PrivateLinkage,
                               ConstantArray::get(TableTy, Rows), "__zinst_functions");
  }

  // struct zinst_site_info {caller, caller_linkage, callee, callee_linkage,
  // file, reason, line, column, flags, cost, threshold, callee_instructions,
  // caller_index, callee_index, shared_counter}
  StructType *SiteTy = StructType::get(Ctx, {PtrTy, PtrTy, PtrTy, PtrTy, PtrTy, PtrTy, I32Ty, I32Ty,
                                             I32Ty, I32Ty, I32Ty, I32Ty, I32Ty, I32Ty, I32Ty});
  std::vector<Constant *> SiteRows;
  SiteRows.reserve(Sites.size());
  for (const SiteDecision &Site : Sites)
    SiteRows.push_back(ConstantStruct::get(
        SiteTy,
        {Strings.get(Site.Caller), Strings.get(Site.CallerLinkage), Strings.get(Site.Callee),
         Strings.get(Site.CalleeLinkage), Strings.get(Site.File), Strings.get(Site.Reason),
         ConstantInt::get(I32Ty, Site.Line), ConstantInt::get(I32Ty, Site.Column),
         ConstantInt::get(I32Ty, Site.Flags),
         ConstantInt::get(I32Ty, static_cast<uint32_t>(Site.Cost)),
         ConstantInt::get(I32Ty, static_cast<uint32_t>(Site.Threshold)),
         ConstantInt::get(I32Ty, Site.CalleeInstructions),
         ConstantInt::get(I32Ty, Site.CallerIndex), ConstantInt::get(I32Ty, Site.CalleeIndex),
         ConstantInt::get(I32Ty, Site.SharedCounter)}));
  Constant *SiteTable = ConstantPointerNull::get(PointerType::getUnqual(Ctx));
  if (!SiteRows.empty()) {
    ArrayType *SiteTableTy = ArrayType::get(SiteTy, SiteRows.size());
    SiteTable = new GlobalVariable(M, SiteTableTy, /*isConstant=*/true, GlobalValue::PrivateLinkage,
                                   ConstantArray::get(SiteTableTy, SiteRows), "__zinst_sites");
  }

  // The inline code's ids: ZINST_ID_BASE_UNREGISTERED + i, which its lookup
  // never matches (zinst_abi.h), until the runtime writes id_base + i.
  Constant *FunctionIds = ConstantPointerNull::get(PointerType::getUnqual(Ctx));
  if ((ModuleFlags & ZINST_MODULE_INLINE_TREE) != 0 && !Rows.empty()) {
    std::vector<uint32_t> Ids(Rows.size());
    for (size_t I = 0; I < Ids.size(); ++I)
      Ids[I] = ZINST_ID_BASE_UNREGISTERED + static_cast<uint32_t>(I);
    Constant *Init = ConstantDataArray::get(Ctx, Ids);
    FunctionIds = new GlobalVariable(M, Init->getType(), /*isConstant=*/false,
                                     GlobalValue::InternalLinkage, Init, "__zinst_function_ids");
  }

  // struct zinst_module_info {abi_version, function_count, functions,
  // source_file, id_base, reserved, site_count, site_base, sites, flags,
  // unused, function_ids}; the runtime writes id_base, reserved, site_base
  // and the ids, so the descriptor is not constant. id_base starts as
  // ZINST_ID_BASE_UNREGISTERED.
  StructType *ModuleTy = StructType::get(
      Ctx, {I32Ty, I32Ty, PtrTy, PtrTy, I32Ty, I32Ty, I32Ty, I32Ty, PtrTy, I32Ty, I32Ty, PtrTy});
  Constant *ModuleInit = ConstantStruct::get(
      ModuleTy, {ConstantInt::get(I32Ty, ZINST_ABI_VERSION), ConstantInt::get(I32Ty, Rows.size()),
                 Table, Strings.get(M.getSourceFileName()),
                 ConstantInt::get(I32Ty, ZINST_ID_BASE_UNREGISTERED), ConstantInt::get(I32Ty, 0),
                 ConstantInt::get(I32Ty, SiteRows.size()), ConstantInt::get(I32Ty, 0), SiteTable,
                 ConstantInt::get(I32Ty, ModuleFlags), ConstantInt::get(I32Ty, 0), FunctionIds});
  auto *ModuleInfo = new GlobalVariable(M, ModuleTy, /*isConstant=*/false,
                                        GlobalValue::InternalLinkage, ModuleInit, "__zinst_module");

  appendToGlobalCtors(
      M, emitRegistrationCall(M, "__zinst_ctor", "__zinst_register_module", ModuleInfo),
      ZINST_CTOR_PRIORITY);
  appendToGlobalDtors(
      M, emitRegistrationCall(M, "__zinst_dtor", "__zinst_unregister_module", ModuleInfo),
      ZINST_CTOR_PRIORITY);
  return ModuleInfo;
}

GlobalVariable *runtimeThreadLocal(Module &M, StringRef Name, Type *Ty) {
  if (GlobalVariable *Existing = M.getNamedGlobal(Name))
    return Existing;
  auto *Var = new GlobalVariable(M, Ty, /*isConstant=*/false, GlobalValue::ExternalLinkage, nullptr,
                                 Name, nullptr, GlobalValue::InitialExecTLSModel);
  bool ForExecutable = M.getPIELevel() != PIELevel::Default || M.getPICLevel() == PICLevel::NotPIC;
  Var->setDSOLocal(ForExecutable);
  return Var;
}

} // namespace zinst
