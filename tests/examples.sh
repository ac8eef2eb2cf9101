#!/bin/sh
# The example drivers end to end: prompt structure with --dump-prompt, and a run on the tiny model.
# --dump-prompt prints Gemma 3's template (MEDGEMMA.md section 3) with each image as <image i: source>, then
# "tokens: N"; the expected texts below are written from the template, not taken from the drivers.
B=${B:-build}; D=tests/data; T=$(mktemp); pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
TM="-m $D/models/tiny-q4_k_m.gguf"; VM="$TM --mmproj $D/models/mmproj-tiny-f16.gguf"
# JSON answers without their timings (the rest must repeat exactly)
untimed() { sed 's/"timings": {[^}]*}, //'; }

# ehr: FHIR JSON is validated, compacted and pasted behind "TOOL OUTPUT:", the question after a blank line
out=$($B/ehr $D/ehr/observation-example-bloodpressure.json -q 'What was the systolic pressure?' --dump-prompt $TM)
case "$out" in '<bos><start_of_turn>user
You are a helpful medical assistant.

TOOL OUTPUT:
{"resourceType":"Observation","id":"blood-pressure",'*'

What was the systolic pressure?<end_of_turn>
<start_of_turn>model
tokens: '[0-9]*) ok "ehr FHIR prompt";; *) bad "ehr FHIR prompt: ${out%%,*}";; esac
out=$($B/ehr $D/ehr/labtext_110_thyroid_function.txt -q 'Is TSH normal?' -q 'Summarise.' --dump-prompt $TM)
[ "$(printf '%s\n' "$out" | grep -c '^tokens: ')" -eq 2 ] && ok "ehr: one prompt per -q" || bad "ehr: one prompt per -q"
case "$out" in *'( 0.1-4.0  )


Is TSH normal?<end_of_turn>'*) ok "ehr text note";; *) bad "ehr text note";; esac
a=$($B/ehr $D/ehr/labtext_110_thyroid_function.txt -q 'Is TSH normal?' $TM -n 16 --json -t 2 --quiet)
b=$($B/ehr $D/ehr/labtext_110_thyroid_function.txt -q 'Is TSH normal?' $TM -n 16 --json -t 1 --quiet)
case "$a" in '{"question": "Is TSH normal?", "answer": "'*'", "thought": "", "prompt_tokens": '*', "generated_tokens": 16, "decoder_passes": 16, "stop": "max_tokens", "timings": {'*'}}') ok "ehr --json output";; *) bad "ehr --json output: $a";; esac
[ "$(printf '%s' "$a" | untimed)" = "$(printf '%s' "$b" | untimed)" ] && ok "ehr deterministic across thread counts" || bad "ehr differs across thread counts"
$B/ehr $D/ehr/missing.txt -q x $TM > /dev/null 2>&1 && bad "ehr missing file" || ok "ehr missing file fails"
$B/ehr > /dev/null 2>&1; [ $? -eq 2 ] && ok "ehr usage" || bad "ehr usage"

# cxr: system text, the image, the question; PNG and JPEG-encapsulated DICOM inputs; one encode for several -q
C=$D/cxr/Chest_Xray_PA_3-8-2010.png
out=$($B/cxr $C -q 'Any consolidation?' --dump-prompt $VM)
want=$(printf '<bos><start_of_turn>user\nYou are an expert radiologist.\n\n\n\n<start_of_image><image 0: %s><end_of_image>\n\nAny consolidation?<end_of_turn>\n<start_of_turn>model\n' $C)
[ "${out%
tokens: *}" = "$want" ] && ok "cxr prompt" || bad "cxr prompt: $out"
# the token count: the same text tokenized whole, the image as its 256 soft tokens (control tokens parsed)
soft=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "<image_soft_token>" }')
printf '%s\n' "$want" | sed "s|<image 0: [^>]*>|$soft|" > $T.txt
n=$($B/mg tokenize $TM --no-bos -f $T.txt | wc -w)
[ "$out" = "$want
tokens: $n" ] && ok "cxr --dump-prompt token count ($n)" || bad "cxr token count: $n vs ${out##*tokens: }"
a=$($B/cxr $D/cxr/encapsulated_cxr_synthetic.dcm -q 'Findings?' -q 'Impression?' $VM -n 8 --json -t 2 --quiet)
[ "$(printf '%s\n' "$a" | grep -c '^{"question": "[FI][a-z]*?", "answer": ')" -eq 2 ] && ok "cxr DICOM, two questions" || bad "cxr DICOM: $a"
b=$($B/cxr $D/cxr/encapsulated_cxr_synthetic.dcm -q 'Findings?' -q 'Impression?' $VM -n 8 --json -t 1 --quiet)
[ "$(printf '%s' "$a" | untimed)" = "$(printf '%s' "$b" | untimed)" ] && ok "cxr deterministic across thread counts" || bad "cxr thread counts"
$B/cxr $C -q x $TM -n 2 > /dev/null 2> $T.err; [ $? -eq 1 ] && grep -q 'no vision tower; pass the vision projector with --mmproj' $T.err && ok "cxr without mmproj says so" || bad "cxr without mmproj: $(cat $T.err)"
$B/cxr $D/ehr/labtext_110_thyroid_function.txt -q x --dump-prompt $VM > /dev/null 2>&1 && bad "cxr on a text file" || ok "cxr rejects a non-image"

# hello: the README's ten lines, on the tiny model (nonsense text by design: it must print something)
out=$($B/hello $D/models/tiny-q4_k_m.gguf 'What is pneumonia?'); rc=$?
[ $rc -eq 0 ] && [ -n "$(printf '%s' "$out" | tr -d ' \n')" ] && ok "hello answers (exit 0, text printed)" || bad "hello ($rc): $out"
$B/hello $D/models/missing.gguf > /dev/null 2>&1; [ $? -eq 1 ] && ok "hello: a missing model exits 1" || bad "hello missing model"
# README's "C API in ten lines" and examples/hello.c: every statement of the block is in the program
sed -n '/^## The C API in ten lines/,/^```$/p' README.md | sed -n '/^mg_model \*m/,/^mg_prompt_free/p' |
  sed 's|  */\*.*\*/$||; s|"medgemma-1.5-4b-it-Q4_K_M.gguf"|argv[1]|' > $T.block
n=0; missing=0
while IFS= read -r line; do n=$((n + 1)); grep -qF -- "$line" examples/hello.c || { missing=$((missing + 1)); echo "  not in hello.c: $line"; }; done < $T.block
[ $n -ge 10 ] && [ $missing -eq 0 ] && ok "README's API block ($n lines) is examples/hello.c" || bad "README block vs hello.c: $missing of $n lines missing"
rm -f "$T" "$T.err" "$T.txt" "$T.block"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
