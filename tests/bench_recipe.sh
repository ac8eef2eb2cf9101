#!/bin/sh
# mg bench --recipe ct|wsi on the tiny model: exit codes, one encode per slice/patch, and the prompt token count
# against the drivers' own --dump-prompt on real files. A prompt's token count depends on the number of images,
# the instruction and the question only (each image is a fixed run of soft tokens, whatever its pixels), so a
# 2-slice selection of the CT5N series and a folder of 2 patch files written here stand for the synthetic inputs.
# No timing is checked.
B=${B:-build}; D=tests/data; W=$(mktemp -d); pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
M="-m $D/models/tiny-q4_k_m.gguf --mmproj $D/models/mmproj-tiny-f16.gguf"
# the figures a recipe run prints: "encode      N images", "prefill     N prompt tokens", "decode      N tokens"
field() { sed -n "s/^$1 *\([0-9]*\) $2.*/\1/p" $W/out; }
# ppm FILE: an 8x8 binary PPM of one saturated colour (tissue for the wsi mask)
ppm() { printf "P6\n8 8\n255\n$(awk 'BEGIN { for (i = 0; i < 64; i++) printf "\\330\\140\\250" }')" > "$1"; }

# ct: 2 slices, an explicit question
Q='Is the liver normal?'
$B/mg bench --recipe ct --slices 2 -n 2 -q "$Q" $M > $W/out 2> $W/err; rc=$?
[ $rc -eq 0 ] && ok "ct recipe exits 0" || bad "ct recipe: rc $rc $(tail -n 3 $W/err)"
[ "$(field encode images)" = 2 ] && ok "ct recipe: 2 encodes for --slices 2" || bad "ct encodes: $(cat $W/out)"
want=$($B/ct $D/dicom/CT5N -q "$Q" --slices 2 --dump-prompt $M 2> /dev/null | sed -n 's/^tokens: //p')
got=$(field prefill 'prompt tokens')
[ -n "$want" ] && [ "$got" = "$want" ] && ok "ct recipe: $got prompt tokens, as ct --dump-prompt" || bad "ct prompt tokens: $got vs ct's $want"
n=$(field decode tokens); [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 2 ] && ok "ct recipe: $n of -n 2 tokens decoded" || bad "ct decode: $(cat $W/out)"
for k in 's/image' 'tok/s' 'total ' 'paste: medgemma.h '; do
  grep -qF "$k" $W/out || bad "ct recipe output lacks $k"
done
[ "$(grep -c '' $W/out)" -eq 8 ] && ok "ct recipe: 8 lines on stdout, no answer text" || bad "ct stdout: $(cat $W/out)"
grep -q 'encoding slice 2/2' $W/err && ok "ct recipe: progress on stderr" || bad "ct progress: $(cat $W/err)"

# the default question is the one --help names
$B/mg bench --recipe ct --slices 3 -n 1 $M > $W/out 2> /dev/null
want=$($B/ct $D/dicom/CT5N -q 'Provide a radiology report of the findings in these CT slices.' --slices 3 --dump-prompt $M 2> /dev/null | sed -n 's/^tokens: //p')
[ "$(field encode images)" = 3 ] && [ "$(field prefill 'prompt tokens')" = "$want" ] && ok "ct recipe default question: $want tokens for 3 slices" || bad "ct default: $(cat $W/out) vs $want"

# wsi: 2 patches, Google's example prompt (the default); the wsi driver on a folder of 2 tissue patches
mkdir $W/patches; ppm $W/patches/a.ppm; ppm $W/patches/b.ppm
P='You are an instructor teaching medical students. For education purposes, provide a brief descriptive text for the set of pathology patches extracted from a pathology slide. Consider the tissue type and procedure (below) when deciding what to include in the descriptive text.
colon, biopsy:'
$B/mg bench --recipe wsi --patches 2 -n 2 $M > $W/out 2> $W/err; rc=$?
[ $rc -eq 0 ] && ok "wsi recipe exits 0" || bad "wsi recipe: rc $rc $(tail -n 3 $W/err)"
[ "$(field encode images)" = 2 ] && ok "wsi recipe: 2 encodes for --patches 2" || bad "wsi encodes: $(cat $W/out)"
want=$($B/wsi $W/patches -q "$P" --dump-prompt $M 2> /dev/null | sed -n 's/^tokens: //p')
got=$(field prefill 'prompt tokens')
[ -n "$want" ] && [ "$got" = "$want" ] && ok "wsi recipe: $got prompt tokens, as wsi --dump-prompt" || bad "wsi prompt tokens: $got vs wsi's $want"
grep -q 'using 2 of [0-9]* patches' $W/err && ok "wsi recipe: the driver's patch choice on stderr" || bad "wsi stderr: $(cat $W/err)"

# usage errors (exit 2, the flag named) and runtime failures (exit 1)
expect() {  # CODE TEXT WHAT args...
  code=$1; text=$2; what=$3; shift 3
  $B/mg bench "$@" > /dev/null 2> $W/err; rc=$?
  [ $rc -eq $code ] && grep -qF -- "$text" $W/err && ok "$what" || bad "$what: rc $rc $(cat $W/err)"
}
expect 2 "--recipe: 'xyz' is not one of ct|wsi" "--recipe xyz" --recipe xyz $M
expect 2 "--slices: '0' is out of range" "--slices 0" --recipe ct --slices 0 $M
expect 2 "--slices: 'abc' is not a whole number" "--slices abc" --recipe ct --slices abc $M
expect 2 "--slices needs --recipe ct" "--slices without --recipe" --slices 2 $M
expect 2 "--patches needs --recipe wsi" "--patches with --recipe ct" --recipe ct --patches 2 $M
expect 2 "-p does not apply to --recipe" "-p with --recipe" --recipe wsi -p 8 $M
expect 2 "-n 0" "--recipe -n 0" --recipe ct -n 0 $M
expect 1 "no vision tower" "--recipe without --mmproj" --recipe ct --slices 1 -n 1 -m $D/models/tiny-q4_k_m.gguf
rm -rf "$W"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
