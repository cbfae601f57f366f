; Malformed options stop the compile with a message naming the option and
; the value.
; RUN: not %opt-zinst -passes=zinst -zinst-include='[ab' -S %s 2>&1 | FileCheck %s --check-prefix=GLOB
; GLOB: zinst: bad value '[ab' for -zinst-include: pattern '[ab': invalid glob pattern, unmatched '['
; RUN: env ZINST_EXCLUDE_FILE='a.c,,b.c' not %opt-zinst -passes=zinst -S %s 2>&1 | FileCheck %s --check-prefix=EMPTY
; EMPTY: zinst: bad value 'a.c,,b.c' for ZINST_EXCLUDE_FILE: empty pattern in the list
; RUN: env ZINST_MIN_SIZE=12x not %opt-zinst -passes=zinst -S %s 2>&1 | FileCheck %s --check-prefix=ENVSIZE
; ENVSIZE: zinst: bad value '12x' for ZINST_MIN_SIZE: expected a non-negative instruction count
; RUN: env ZINST_MIN_SIZE=-1 not %opt-zinst -passes=zinst -S %s 2>&1 | FileCheck %s --check-prefix=NEGSIZE
; NEGSIZE: zinst: bad value '-1' for ZINST_MIN_SIZE: expected a non-negative instruction count
; RUN: not %opt-zinst -passes=zinst -zinst-min-size=abc -S %s 2>&1 | FileCheck %s --check-prefix=OPTSIZE
; OPTSIZE: zinst-min-size{{.*}}'abc' value invalid
; RUN: env ZINST_DISABLE=maybe not %opt-zinst -passes=zinst -S %s 2>&1 | FileCheck %s --check-prefix=DISABLE
; DISABLE: zinst: bad value 'maybe' for ZINST_DISABLE: expected 1/true/yes/on or 0/false/no/off

define void @f() {
  ret void
}

; clang reports the same message and fails, without a crash report.
; RUN: env ZINST_INCLUDE='[x' not %clang -O2 -S -fpass-plugin=%plugin %s -o %t.s 2>&1 | FileCheck %s --check-prefix=CLANG
; CLANG: error: zinst: bad value '[x' for ZINST_INCLUDE: pattern '[x': invalid glob pattern, unmatched '['
; CLANG-NOT: PLEASE submit a bug report

; The count-only list follows the same rules.
; RUN: not %opt-zinst -passes=zinst -zinst-count-only='tiny,[ab' -S %s 2>&1 | FileCheck %s --check-prefix=COUNTONLY
; COUNTONLY: zinst: bad value 'tiny,[ab' for -zinst-count-only: pattern '[ab': invalid glob pattern, unmatched '['
; RUN: env ZINST_COUNT_ONLY='tiny,' not %opt-zinst -passes=zinst -S %s 2>&1 | FileCheck %s --check-prefix=COUNTONLY-ENV
; COUNTONLY-ENV: zinst: bad value 'tiny,' for ZINST_COUNT_ONLY: empty pattern in the list
; RUN: env ZINST_COUNT_ONLY='[x' not %clang -O2 -S -fpass-plugin=%plugin %s -o %t.count-only.s 2>&1 | FileCheck %s --check-prefix=COUNTONLY-CLANG
; COUNTONLY-CLANG: error: zinst: bad value '[x' for ZINST_COUNT_ONLY: pattern '[x': invalid glob pattern, unmatched '['
