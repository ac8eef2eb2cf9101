#!/bin/sh
# The example drivers end to end: prompt structure with --dump-prompt, and a run on the tiny model.
D=tests/data; T=$(mktemp); pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# ehr: FHIR JSON is validated, compacted and pasted behind "TOOL OUTPUT:", the question after a blank line
out=$(build/ehr $D/ehr/observation-example-bloodpressure.json -q 'What was the systolic pressure?' --dump-prompt)
case "$out" in 'TOOL OUTPUT:\n{"resourceType":"Observation","id":"blood-pressure",'*'\n\nWhat was the systolic pressure?') ok "ehr FHIR prompt";; *) bad "ehr FHIR prompt: ${out%%,*}";; esac
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && ok "ehr one item" || bad "ehr one item"
out=$(build/ehr $D/ehr/labtext_110_thyroid_function.txt -q 'Is TSH normal?' -q 'Summarise.' --dump-prompt)
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] && ok "ehr: one prompt per -q" || bad "ehr: one prompt per -q"
case "$out" in *'\n\nIs TSH normal?'*) ok "ehr text note";; *) bad "ehr text note";; esac
a=$(build/ehr $D/ehr/labtext_110_thyroid_function.txt -q 'Is TSH normal?' -m $D/models/tiny-q4_k_m.gguf -n 16 --json -t 2)
b=$(build/ehr $D/ehr/labtext_110_thyroid_function.txt -q 'Is TSH normal?' -m $D/models/tiny-q4_k_m.gguf -n 16 --json -t 1)
case "$a" in '{"answer": "'*'"}') ok "ehr --json output";; *) bad "ehr --json output: $a";; esac
[ "$a" = "$b" ] && ok "ehr deterministic across thread counts" || bad "ehr differs across thread counts"
build/ehr $D/ehr/missing.txt -q x -m $D/models/tiny-q4_k_m.gguf > /dev/null 2>&1 && bad "ehr missing file" || ok "ehr missing file fails"
build/ehr > /dev/null 2>&1; [ $? -eq 2 ] && ok "ehr usage" || bad "ehr usage"

# cxr: system text, the image, the question; PNG and JPEG-encapsulated DICOM inputs; one encode for several -q
out=$(build/cxr $D/cxr/Chest_Xray_PA_3-8-2010.png -q 'Any consolidation?' --dump-prompt)
[ "$out" = "$(printf 'You are an expert radiologist.\n[IMAGE 0: %s]\nAny consolidation?' $D/cxr/Chest_Xray_PA_3-8-2010.png)" ] && ok "cxr prompt" || bad "cxr prompt: $out"
a=$(build/cxr $D/cxr/encapsulated_cxr_synthetic.dcm -q 'Findings?' -q 'Impression?' -m $D/models/tiny-q4_k_m.gguf --mmproj $D/models/mmproj-tiny-f16.gguf -n 8 --json -t 2)
[ "$(printf '%s\n' "$a" | grep -c '^{"answer": ')" -eq 2 ] && ok "cxr DICOM, two questions" || bad "cxr DICOM: $a"
b=$(build/cxr $D/cxr/encapsulated_cxr_synthetic.dcm -q 'Findings?' -q 'Impression?' -m $D/models/tiny-q4_k_m.gguf --mmproj $D/models/mmproj-tiny-f16.gguf -n 8 --json -t 1)
[ "$a" = "$b" ] && ok "cxr deterministic across thread counts" || bad "cxr thread counts"
build/cxr $D/cxr/Chest_Xray_PA_3-8-2010.png -q x -m $D/models/tiny-q4_k_m.gguf -n 2 > /dev/null 2> $T.err; [ $? -ne 0 ] && grep -q 'no vision tower' $T.err && ok "cxr without mmproj says so" || bad "cxr without mmproj: $(cat $T.err)"
build/cxr $D/ehr/labtext_110_thyroid_function.txt -q x --dump-prompt > /dev/null 2>&1 && bad "cxr on a text file" || ok "cxr rejects a non-image"
rm -f "$T" "$T.err"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
