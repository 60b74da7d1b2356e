# packaging/elf.sh - sourced by go-c.sh, check-c.sh and check-go.sh (after they define die):
#   pk_elf_check <file> <x86_64|aarch64>   dies unless every ELF object of the file (a library or
#                                          an archive of objects) is of that architecture and none
#                                          carries debug info (.debug_info)
#   pk_soname <file>                       prints the SONAME of a shared library
declare -A PK_ELF_MACHINE=([x86_64]="Advanced Micro Devices X86-64" [aarch64]="AArch64")

pk_elf_check() {
  local f="$1" want="${PK_ELF_MACHINE[$2]}" got
  [[ -f "$f" ]] || die "$f is missing"
  got="$({ readelf -h "$f" 2>/dev/null || true; } | sed -n 's/^ *Machine: *//p' | sort -u)"
  [[ "$got" == "$want" ]] || die "$f: machine '${got//$'\n'/, }', want '$want'"
  if { readelf -S -W "$f" 2>/dev/null || true; } | grep -q ' \.debug_info '; then die "$f has debug info"; fi
}

pk_soname() {
  { readelf -d "$1" 2>/dev/null || true; } | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'
}
