//===- InlineSiteTable.cpp - inlining decisions kept inside the IR --------===//
#include "InlineSiteTable.h"
#include "LLVMCompat.h"
#include "ModuleTable.h"

#include "zinst_abi.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstrTypes.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/Metadata.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/xxhash.h"

using namespace llvm;

namespace zinst {
namespace {

constexpr StringLiteral SiteAttachment = "zinst.site";

// Operand layout of a site node.
enum SiteOperand : unsigned {
  OpId,
  OpCaller,
  OpCallerLinkage,
  OpCallee,
  OpCalleeLinkage,
  OpFile,
  OpReason,
  OpLine,
  OpColumn,
  OpFlags,
  OpCost,
  OpThreshold,
  OpCalleeInstructions,
  OpCalleeFile,
  OpCount
};

Metadata *text(LLVMContext &Ctx, StringRef S) {
  return MDString::get(Ctx, S);
}

Metadata *number(LLVMContext &Ctx, uint64_t Value, unsigned Bits) {
  return ConstantAsMetadata::get(ConstantInt::get(Type::getIntNTy(Ctx, Bits), Value));
}

StringRef textAt(const MDTuple *Site, unsigned Op) {
  if (auto *S = dyn_cast_or_null<MDString>(Site->getOperand(Op).get()))
    return S->getString();
  return "";
}

uint64_t numberAt(const MDTuple *Site, unsigned Op) {
  if (auto *C = mdconst::dyn_extract_or_null<ConstantInt>(Site->getOperand(Op).get()))
    return C->getZExtValue();
  return 0;
}

void store(MDTuple *Site, const SiteDecision &D) {
  LLVMContext &Ctx = Site->getContext();
  Site->replaceOperandWith(OpCaller, text(Ctx, D.Caller));
  Site->replaceOperandWith(OpCallerLinkage, text(Ctx, D.CallerLinkage));
  Site->replaceOperandWith(OpCallee, text(Ctx, D.Callee));
  Site->replaceOperandWith(OpCalleeLinkage, text(Ctx, D.CalleeLinkage));
  Site->replaceOperandWith(OpFile, text(Ctx, D.File));
  Site->replaceOperandWith(OpReason, text(Ctx, D.Reason));
  Site->replaceOperandWith(OpLine, number(Ctx, D.Line, 32));
  Site->replaceOperandWith(OpColumn, number(Ctx, D.Column, 32));
  Site->replaceOperandWith(OpFlags, number(Ctx, D.Flags, 32));
  Site->replaceOperandWith(OpCost, number(Ctx, static_cast<uint32_t>(D.Cost), 32));
  Site->replaceOperandWith(OpThreshold, number(Ctx, static_cast<uint32_t>(D.Threshold), 32));
  Site->replaceOperandWith(OpCalleeInstructions, number(Ctx, D.CalleeInstructions, 32));
  Site->replaceOperandWith(OpCalleeFile, text(Ctx, D.CalleeFile));
}

} // namespace

SiteDecision describeCall(CallBase &CB, Function &Callee) {
  return describeCall(CB, Callee, describeFunction(*CB.getFunction()), describeFunction(Callee),
                      Callee.getInstructionCount());
}

SiteDecision describeCall(CallBase &CB, Function &Callee, const FunctionDescription &CallerDesc,
                          const FunctionDescription &CalleeDesc, uint32_t CalleeInstructions) {
  SiteDecision D;
  D.Caller = CallerDesc.DisplayName;
  D.CallerLinkage = CB.getFunction()->getName().str();
  D.Callee = CalleeDesc.DisplayName;
  D.CalleeFile = CalleeDesc.File;
  D.CalleeLinkage = Callee.getName().str();
  D.CalleeInstructions = CalleeInstructions;
  if (const DILocation *Loc = CB.getDebugLoc().get()) {
    D.Flags |= ZINST_SITE_INFO_DEBUG;
    D.Line = Loc->getLine();
    D.Column = Loc->getColumn();
    D.File = sourcePath(Loc->getDirectory(), Loc->getFilename());
  }
  return D;
}

MDTuple *createSite(Module &M, const SiteDecision &Decision) {
  LLVMContext &Ctx = M.getContext();
  NamedMDNode *List = M.getOrInsertNamedMetadata(SiteListName);
  // Unique across modules (LTO merges them): the module's identity in the
  // high half, the site's rank in the module in the low half.
  uint64_t ModuleHash = xxh3_64bits(M.getModuleIdentifier() + "\n" + M.getSourceFileName());
  uint64_t Id = (ModuleHash << 32) ^ (List->getNumOperands() + 1);
  SmallVector<Metadata *, OpCount> Ops(OpCount, nullptr);
  Ops[OpId] = number(Ctx, Id, 64);
  // A distinct node: sites with equal contents stay different sites, and
  // replaceOperandWith updates it in place.
  MDTuple *Site = MDTuple::getDistinct(Ctx, Ops);
  store(Site, Decision);
  List->addOperand(Site);
  return Site;
}

void updateSite(MDTuple *Site, const SiteDecision &Decision) {
  store(Site, Decision);
}

SiteDecision readSite(const MDTuple *Site) {
  SiteDecision D;
  if (Site->getNumOperands() != OpCount)
    return D;
  D.Caller = textAt(Site, OpCaller).str();
  D.CallerLinkage = textAt(Site, OpCallerLinkage).str();
  D.Callee = textAt(Site, OpCallee).str();
  D.CalleeLinkage = textAt(Site, OpCalleeLinkage).str();
  D.File = textAt(Site, OpFile).str();
  D.Reason = textAt(Site, OpReason).str();
  D.Line = static_cast<unsigned>(numberAt(Site, OpLine));
  D.Column = static_cast<unsigned>(numberAt(Site, OpColumn));
  D.Flags = static_cast<uint32_t>(numberAt(Site, OpFlags));
  D.Cost = static_cast<int32_t>(static_cast<uint32_t>(numberAt(Site, OpCost)));
  D.Threshold = static_cast<int32_t>(static_cast<uint32_t>(numberAt(Site, OpThreshold)));
  D.CalleeInstructions = static_cast<uint32_t>(numberAt(Site, OpCalleeInstructions));
  D.CalleeFile = textAt(Site, OpCalleeFile).str();
  return D;
}

uint64_t siteId(const MDTuple *Site) {
  return Site->getNumOperands() == OpCount ? numberAt(Site, OpId) : 0;
}

MDTuple *siteOf(const Instruction &I) {
  auto *Site = dyn_cast_or_null<MDTuple>(I.getMetadata(SiteAttachment));
  return Site != nullptr && Site->getNumOperands() == OpCount ? Site : nullptr;
}

void attachSite(Instruction &I, MDTuple *Site) {
  I.setMetadata(SiteAttachment, Site);
}

void detachSite(Instruction &I) {
  I.setMetadata(SiteAttachment, nullptr);
}

CallInst *insertMarker(Instruction &Before, MDTuple *Site) {
  Module &M = *Before.getModule();
  LLVMContext &Ctx = M.getContext();
  Function *Probe = compat::getIntrinsic(M, Intrinsic::pseudoprobe);
  IRBuilder<> B(&Before);
  // Index = the site id: markers of different sites are never identical
  // instructions, so no pass merges two sites' markers into one.
  CallInst *Marker = B.CreateCall(Probe, {ConstantInt::get(Type::getInt64Ty(Ctx), ProbeGUID),
                                          ConstantInt::get(Type::getInt64Ty(Ctx), siteId(Site)),
                                          ConstantInt::get(Type::getInt32Ty(Ctx), 0),
                                          ConstantInt::get(Type::getInt64Ty(Ctx), UINT64_MAX)});
  attachSite(*Marker, Site);
  return Marker;
}

bool isMarker(const Instruction &I) {
  const auto *Probe = dyn_cast<PseudoProbeInst>(&I);
  return Probe != nullptr && Probe->getFuncGuid()->getZExtValue() == ProbeGUID;
}

uint64_t markerSiteId(const Instruction &Marker) {
  return cast<PseudoProbeInst>(Marker).getIndex()->getZExtValue();
}

} // namespace zinst
