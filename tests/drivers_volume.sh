#!/bin/sh
# The ct, mri and wsi drivers end to end: --dump-prompt structure on NIfTI volumes written here with printf, the
# real CT5N DICOM series and the CAMELYON WSI; hostile inputs; one short run per driver on the tiny model.
# Expected indices are computed here with exact integer arithmetic (awk), not taken from the drivers.
B=${B:-build}; D=tests/data; W=$(mktemp -d); pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
M="-m $D/models/tiny-q4_k_m.gguf --mmproj $D/models/mmproj-tiny-f16.gguf"
CT_INSTR='You are an instructor teaching medical students. You are analyzing a contiguous block of CT slices from the center of the abdomen. Please review the slices provided below carefully.'
MR_INSTR='You are an instructor teaching medical students. You are analyzing a contiguous block of MRI slices. Please review the slices provided below carefully.'

# nii FILE W H D: NIfTI-1 (little endian), uint8 voxels, scl_slope 10, scl_inter -1000; every voxel of slice z
# holds z, so slice z is z*10 - 1000 HU. The dims may be anything (hostile tests); DATA=0 writes no voxels.
# awk spells every byte as a printf octal escape; one printf writes the file.
nii() {
  printf "$(awk -v W=$2 -v H=$3 -v D=$4 -v data=${DATA:-1} '
    function b(v) { printf "\\%03o", v % 256 }
    function l16(v) { b(v); b(int(v / 256)) }
    function l32(v) { b(v); b(int(v / 256)); b(int(v / 65536)); b(int(v / 16777216)) }
    function z(n) { while (n-- > 0) b(0) }
    BEGIN { l32(348); z(36)                                           # sizeof_hdr, unused fields
      l16(3); l16(W); l16(H); l16(D); l16(1); l16(1); l16(1); l16(1)  # dim[8]
      z(14); l16(2); l16(8); z(2)                                     # datatype DT_UINT8, bitpix 8
      for (i = 0; i < 8; i++) l32(1065353216)                         # pixdim 1.0f
      l32(1135607808); l32(1092616192); l32(3296329728)               # vox_offset 352, scl_slope 10, scl_inter -1000
      z(224); b(110); b(43); b(49); z(5)                              # "n+1\0", no extension
      if (data) for (k = 0; k < D; k++) for (n = 0; n < W * H; n++) b(k) }')" > "$1"
}
# expected indices: N slices, K kept, i = 1..K, round(i*(N-1)/K) with halves to even (exact integers)
want_indices() {
  awk -v N=$1 -v K=$2 'BEGIN { s = "indices:"
    if (N <= K) { for (i = 0; i < N; i++) s = s " " i }
    else for (i = 1; i <= K; i++) { n = i * (N - 1); q = int(n / K); r = n - q * K
      if (2 * r > K || (2 * r == K && q % 2 == 1)) q++; s = s " " q }
    print s }'
}
# the whole expected dump (Gemma 3's template, MEDGEMMA.md section 3; no system text): the instruction, each
# image as <image j: slice z of FILE> followed by "SLICE j+1", the question last; then the indices line. The
# "tokens: N" line is left out here (untok) and checked on its own below.
want_dump() {  # INSTR FILE QUESTION INDICES-LINE
  printf '<bos><start_of_turn>user\n%s' "$1"
  set -- "$2" "$3" "$4"
  j=0; for z in ${3#indices:}; do printf '\n\n<start_of_image><image %d: slice %d of %s><end_of_image>\n\nSLICE %d' $j $z "$1" $((j + 1)); j=$((j + 1)); done
  printf '%s<end_of_turn>\n<start_of_turn>model\n%s\n' "$2" "$3"
}
untok() { grep -v '^tokens: [0-9]*$'; }
untimed() { sed 's/"timings": {[^}]*}, //'; }

nii $W/ct200.nii 2 2 200
nii $W/ct40.nii 2 2 40

# ct: 200 slices -> the 85 indices round(i/85*199), i = 1..85; instruction first, image then label, question last
want=$(want_indices 200 85)
case "$want" in 'indices: 2 5 7 9 12 '*' 197 199') ok "independent indices look right";; *) bad "awk indices: $want";; esac
out=$($B/ct $W/ct200.nii -q 'What is abnormal?' --dump-prompt $M 2> /dev/null)
[ "$(printf '%s\n' "$out" | untok)" = "$(want_dump "$CT_INSTR" $W/ct200.nii 'What is abnormal?' "$want")" ] && ok "ct 200 slices: 85 chosen, full prompt" || bad "ct 200 slices: $(printf '%s\n' "$out" | tail -n 1)"
[ "$(printf '%s\n' "$out" | grep -o '<image [0-9]*: ' | wc -l)" -eq 85 ] && ok "ct 85 slices: 85 images" || bad "ct image count"
want=$(want_indices 200 10)
out=$($B/ct $W/ct200.nii -q 'Q' --slices 10 --dump-prompt $M 2> /dev/null | untok)
[ "$out" = "$(want_dump "$CT_INSTR" $W/ct200.nii Q "$want")" ] && ok "ct --slices 10 ($want)" || bad "ct --slices 10: $(printf '%s\n' "$out" | tail -n 1) vs $want"
out=$($B/ct $W/ct40.nii -q 'Q' --dump-prompt $M 2> /dev/null | untok)
[ "$out" = "$(want_dump "$CT_INSTR" $W/ct40.nii Q "$(want_indices 40 85)")" ] && ok "ct 40 slices: all used" || bad "ct 40 slices"
out=$($B/ct $W/ct40.nii -q 'One?' -q 'Two?' --slices 3 --dump-prompt $M 2> /dev/null)
[ "$(printf '%s\n' "$out" | grep -c '^tokens: [0-9]*$')" -eq 2 ] && [ "$(printf '%s\n' "$out" | grep -c -e '^SLICE 3One?<end_of_turn>$' -e '^SLICE 3Two?<end_of_turn>$')" -eq 2 ] && \
  [ "$(printf '%s\n' "$out" | tail -n 1)" = "$(want_indices 40 3)" ] && ok "ct two questions: two prompts, one indices line" || bad "ct two questions: $out"
out=$($B/ct $W/ct200.nii -q 'Q' --dump-prompt $M 2>&1 > /dev/null)
case "$out" in *'200 slices of 2x2'*'using 85'*) ok "ct reports the volume on stderr";; *) bad "ct stderr: $out";; esac

# the real CT series: 5 DICOM files -> all 5, in InstanceNumber order (the loader sorts; see test_dicom)
out=$($B/ct $D/dicom/CT5N -q 'Findings?' --dump-prompt $M 2> /dev/null)
nosrc() { sed 's|<image \([0-9]*\): [^>]*>|<image \1: SRC>|g'; }
[ "$(printf '%s\n' "$out" | untok | nosrc)" = "$(want_dump "$CT_INSTR" $D/dicom/CT5N 'Findings?' 'indices: 0 1 2 3 4' | nosrc)" ] && ok "ct CT5N: 5 slices, all used" || bad "ct CT5N: $out"
# each image of a folder names its own DICOM file: the five files of the series, each once
files=$(printf '%s\n' "$out" | grep -o '<image [0-9]*: [^>]*>' | sed 's|<image [0-9]*: \(.*\)>|\1|')
n_in=0; for f in $files; do case "$f" in $D/dicom/CT5N/*.dcm) [ -f "$f" ] && n_in=$((n_in + 1));; esac; done
[ $n_in -eq 5 ] && [ "$(printf '%s\n' "$files" | sort -u | wc -l)" -eq 5 ] && ok "ct CT5N: each image names its DICOM file" || bad "ct CT5N sources: $files"
# --json: the SHA-256 of each used slice's file, as sha256sum computes it
a=$($B/ct $D/dicom/CT5N -q 'Q' $M -n 2 --slices 2 --json --quiet 2> /dev/null)
imgs=$(printf '%s' "$a" | sed 's/.*"images": \[\([^]]*\)\].*/\1/' | tr -d '",')
shas=$(printf '%s' "$a" | sed 's/.*"image_sha256": \[\([^]]*\)\].*/\1/' | tr -d '",')
want=$(for f in $imgs; do sha256sum "$f" | cut -d' ' -f1; done | tr '\n' ' ' | sed 's/ $//')
[ -n "$imgs" ] && [ "$(printf '%s' "$shas" | tr -s ' ')" = "$want" ] && ok "ct --json: each slice file's SHA-256" || bad "ct slice sha256: [$shas] vs [$want] ($a)"
# its token count: the text tokenized whole, each image as its 256 soft tokens (control tokens parsed)
soft=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "<image_soft_token>" }')
printf '%s\n' "$out" | sed '/^tokens: /,$d' | sed "s|<image [0-9]*: [^>]*>|$soft|g" > $W/count.txt
n=$($B/mg tokenize -m $D/models/tiny-q4_k_m.gguf --no-bos -f $W/count.txt | wc -w)
printf '%s\n' "$out" | grep -qx "tokens: $n" && ok "ct --dump-prompt token count ($n)" || bad "ct token count: $n vs $(printf '%s\n' "$out" | grep '^tokens')"

# mri: same sampling and labels, its own instruction
out=$($B/mri $W/ct200.nii -q 'Q' --slices 4 --dump-prompt $M 2> /dev/null | untok)
[ "$out" = "$(want_dump "$MR_INSTR" $W/ct200.nii Q "$(want_indices 200 4)")" ] && ok "mri prompt" || bad "mri prompt: $out"
out=$($B/mri $D/nifti/anatomical.nii.gz -q 'Q' --dump-prompt $M 2> /dev/null)
[ "$(printf '%s\n' "$out" | tail -n 1)" = "$(want_indices 25 85)" ] && ok "mri .nii.gz, 25 slices all used" || bad "mri nii.gz"

# modality against the recipe, and a 4D NIfTI (3 volumes, tests/data/nifti/README.md): warnings, still exit 0
$B/ct $D/dicom/MR_small.dcm -q x --dump-prompt $M > /dev/null 2> $W/err; rc=$?
[ $rc -eq 0 ] && grep -qx "warning: $D/dicom/MR_small.dcm is modality MR, not CT: the CT windows (Hounsfield units) may not apply; mri scales without windows" $W/err && ok "ct warns on MR data" || bad "ct on MR ($rc): $(cat $W/err)"
$B/mri $D/dicom/CT5N -q x --dump-prompt $M > /dev/null 2> $W/err; rc=$?
[ $rc -eq 0 ] && grep -qx "warning: $D/dicom/CT5N is modality CT, not MR: ct applies Google's CT windows" $W/err && ok "mri warns on CT data" || bad "mri on CT ($rc): $(cat $W/err)"
$B/ct $D/nifti/dt_u8_4d.nii -q x --dump-prompt $M > /dev/null 2> $W/err; rc=$?
[ $rc -eq 0 ] && grep -q "^warning: $D/nifti/dt_u8_4d.nii holds 3 volumes; using the first (--volume N picks volume N, 0 to 2)" $W/err && ok "a 4D NIfTI: warned, first volume" || bad "4D NIfTI ($rc): $(cat $W/err)"
$B/ct $D/dicom/CT5N -q x --dump-prompt $M > /dev/null 2> $W/err
grep -q '^warning' $W/err && bad "ct on CT warns: $(cat $W/err)" || ok "ct on CT: no warning"

# a folder of two series (the 5 CT slices and one MR file), also spread over subfolders: refused with the list
# unless --series picks one (by number or SeriesInstanceUID)
mkdir -p $W/two/ct $W/two/mr; cp $D/dicom/CT5N/* $W/two/ct/; cp $D/dicom/MR_small.dcm $W/two/mr/
$B/ct $W/two -q x --dump-prompt $M > /dev/null 2> $W/err; rc=$?
[ $rc -eq 1 ] && grep -q "holds 2 series" $W/err && grep -q '^  1: .* CT .* 5 slices$' $W/err && grep -q '^  2: .* MR .* 1 slice$' $W/err && \
  grep -qF -- '--series' $W/err && ok "ct: two series listed, none picked" || bad "two series ($rc): $(cat $W/err)"
uid=$(sed -n 's/^  2: \([0-9.]*\) MR .*/\1/p' $W/err); ctuid=$(sed -n 's/^  1: \([0-9.]*\) CT .*/\1/p' $W/err)
out=$($B/mri $W/two -q x --dump-prompt $M --series 2 2> $W/err); rc=$?
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | tail -n 1)" = "indices: 0" ] && grep -q "modality MR, using 1" $W/err && ok "mri --series 2: the MR file" || bad "--series 2 ($rc): $(cat $W/err)"
out=$($B/ct $W/two -q x --dump-prompt $M --series "$uid" 2> $W/err); rc=$?
[ $rc -eq 0 ] && grep -q "modality MR, using 1" $W/err && ok "ct --series UID" || bad "--series $uid ($rc): $(cat $W/err)"
out=$($B/ct $W/two -q x --dump-prompt $M --series 1 2> $W/err); rc=$?
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$out" | tail -n 1)" = "indices: 0 1 2 3 4" ] && ok "ct --series 1: the 5 CT slices from a subfolder" || bad "--series 1 ($rc): $(cat $W/err)"
$B/ct $W/two -q x --dump-prompt $M --series 3 > /dev/null 2> $W/err; rc=$?
[ $rc -eq 1 ] && grep -q 'no series "3"' $W/err && ok "ct --series 3: no such series" || bad "--series 3 ($rc): $(cat $W/err)"
a=$($B/ct $W/two -q x $M --series 1 --slices 2 -n 2 --json --quiet 2> $W/err)
case "$a" in *"\"series\": \"$ctuid\""*) ok "--json names the series used ($ctuid)";; *) bad "series in JSON: $a";; esac
# a 4D NIfTI: --volume picks one (0-based), out of range is an error
$B/ct $D/nifti/dt_u8_4d.nii -q x --dump-prompt $M --volume 2 > /dev/null 2> $W/err; rc=$?
[ $rc -eq 0 ] && grep -q "volume 2 of 0 to 2" $W/err && ! grep -q '^warning' $W/err && ok "--volume 2 of a 4D NIfTI" || bad "--volume 2 ($rc): $(cat $W/err)"
$B/ct $D/nifti/dt_u8_4d.nii -q x --dump-prompt $M --volume 5 > /dev/null 2> $W/err; rc=$?
[ $rc -eq 1 ] && grep -q "volume 5" $W/err && ok "--volume 5: out of range" || bad "--volume 5 ($rc): $(cat $W/err)"

# wsi: the CAMELYON DICOM (1152x700) -> one 896 tile at (0,0), 28.6% tissue, kept
out=$($B/wsi $D/wsi/camelyon_multiframe_wsi.dcm -q 'colon, biopsy:' --dump-prompt $M 2> /dev/null | untok)
[ "$out" = "$(printf '<bos><start_of_turn>user\ncolon, biopsy:\n\n<start_of_image><image 0: tile (0,0)><end_of_image>\n\n<end_of_turn>\n<start_of_turn>model\nindices: 0')" ] && ok "wsi CAMELYON DICOM: one tile" || bad "wsi CAMELYON: $out"

# hostile inputs: a clear message, a non-zero exit, no crash
mkdir $W/empty
nii $W/zero.nii 2 2 0
DATA=0 nii $W/huge.nii 32767 32767 32767
DATA=0 nii $W/short.nii 64 64 64
printf 'not a volume' > $W/junk.nii
for d in ct mri wsi; do
  n=0
  for f in $W/missing $W/empty $W/zero.nii $W/huge.nii $W/short.nii $W/junk.nii $D/ehr/labtext_110_thyroid_function.txt; do
    $B/$d $f -q x --dump-prompt $M > /dev/null 2> $W/err; rc=$?
    if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q 'error' $W/err; then n=$((n + 1)); else bad "$d $(basename $f): rc $rc $(cat $W/err)"; fi
  done
  [ $n -eq 7 ] && ok "$d refuses 7 bad inputs with a message"
  $B/$d > /dev/null 2>&1; [ $? -eq 2 ] && ok "$d usage" || bad "$d usage"
done
$B/ct $W/ct40.nii -q x --slices 0 > /dev/null 2>&1; [ $? -eq 2 ] && ok "ct --slices 0 refused" || bad "ct --slices 0"
$B/wsi $D/wsi/camelyon_multiframe_wsi.dcm -q x --patches 0 > /dev/null 2>&1; [ $? -eq 2 ] && ok "wsi --patches 0 refused" || bad "wsi --patches 0"
out=$($B/ct $W/huge.nii -q x --dump-prompt $M 2>&1); case "$out" in 'error: '*NIfTI*) ok "huge NIfTI dims: $out";; *) bad "huge NIfTI: $out";; esac

# one run per driver on the tiny model (2 slices / 1 patch: each SigLIP pass takes a second or two)
a=$($B/ct $W/ct200.nii -q 'Q' $M -n 4 --slices 2 --json --temp 1 --seed 7 2> $W/err)
b=$($B/ct $W/ct200.nii -q 'Q' $M -n 4 --slices 2 --json --temp 1 --seed 7 2> /dev/null)
case "$a" in '{"question": "Q", "answer": "'*'"slices": [100, 199]'*'"seed": 7, "lookup": 0}'*'}}') ok "ct --json output";; *) bad "ct --json: $a $(cat $W/err)";; esac
[ "$(printf '%s' "$a" | untimed)" = "$(printf '%s' "$b" | untimed)" ] && ok "ct deterministic with a seed" || bad "ct differs: $a / $b"
grep -q 'encoding slice 2/2' $W/err && ok "ct progress on stderr" || bad "ct progress: $(cat $W/err)"
a=$($B/mri $D/dicom/CT5N -q 'Q' $M -n 4 --slices 2 --json -t 2 2> $W/err)
b=$($B/mri $D/dicom/CT5N -q 'Q' $M -n 4 --slices 2 --json -t 1 2> /dev/null)
case "$a" in '{"question": "Q", "answer": "'*'}}') ok "mri --json output";; *) bad "mri --json: $a $(cat $W/err)";; esac
[ "$(printf '%s' "$a" | untimed)" = "$(printf '%s' "$b" | untimed)" ] && ok "mri deterministic across thread counts" || bad "mri differs: $a / $b"
a=$($B/wsi $D/wsi/camelyon_multiframe_wsi.dcm -q 'colon, biopsy:' -q 'Summary?' $M -n 4 --json --seed 3 2> $W/err)
[ "$(printf '%s\n' "$a" | grep -c '^{"question": .*}}$')" -eq 2 ] && ok "wsi two prompts, one encode" || bad "wsi: $a $(cat $W/err)"
[ "$(grep -c 'encoding patch 1/1' $W/err)" -eq 1 ] && ok "wsi encodes once" || bad "wsi encodes: $(cat $W/err)"
# several questions: the shared slices/patches are read once (snapshot); answers equal separate runs (the tiny
# model answers almost the same to any question: tests/test_kv.c checks the logits bit for bit)
a=$($B/ct $W/ct200.nii -q 'Which organ?' -q 'Any lesion?' $M -n 8 --slices 3 --json 2> /dev/null)
b=$($B/ct $W/ct200.nii -q 'Which organ?' $M -n 8 --slices 3 --json 2> /dev/null; $B/ct $W/ct200.nii -q 'Any lesion?' $M -n 8 --slices 3 --json 2> /dev/null)
a=$(printf '%s' "$a" | untimed); b=$(printf '%s' "$b" | untimed)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "ct: two questions over one snapshot = two separate runs" || bad "ct snapshot answers: [$a] vs [$b]"
C='You are an instructor teaching medical students. Describe the tissue.'
a=$($B/wsi $D/wsi/camelyon_multiframe_wsi.dcm --context "$C" -q 'colon, biopsy:' -q 'Is it malignant?' $M -n 8 --json 2> /dev/null)
b=$($B/wsi $D/wsi/camelyon_multiframe_wsi.dcm --context "$C" -q 'colon, biopsy:' $M -n 8 --json 2> /dev/null; $B/wsi $D/wsi/camelyon_multiframe_wsi.dcm --context "$C" -q 'Is it malignant?' $M -n 8 --json 2> /dev/null)
a=$(printf '%s' "$a" | untimed); b=$(printf '%s' "$b" | untimed)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "wsi --context: two prompts over one snapshot = two separate runs" || bad "wsi snapshot answers: [$a] vs [$b]"
out=$($B/wsi $D/wsi/camelyon_multiframe_wsi.dcm --context "$C" -q 'Q?' --dump-prompt $M 2> /dev/null)
[ "$(printf '%s\n' "$out" | sed -n 2p)" = "$C" ] && [ "$(printf '%s\n' "$out" | grep -c '^Q?<end_of_turn>$')" -eq 1 ] && \
  ok "wsi --context: context first, prompt after the patches" || bad "wsi --context dump: $out"
$B/ct $W/ct40.nii -q x -m $D/models/tiny-q4_k_m.gguf -n 2 --slices 1 > /dev/null 2> $W/err; [ $? -ne 0 ] && grep -q 'no vision tower' $W/err && ok "ct without mmproj says so" || bad "ct without mmproj: $(cat $W/err)"

rm -rf "$W"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
