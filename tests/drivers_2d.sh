#!/bin/sh
# The 2D drivers longitudinal, localize and labreport: prompt structure with --dump-prompt on the sample inputs,
# one end-to-end run each on the tiny model (nonsense by design: no boxes, invalid lab JSON), usage and errors.
B=${B:-build}; D=tests/data; T=$(mktemp -d); pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
VM="-m $D/models/tiny-q4_k_m.gguf --mmproj $D/models/mmproj-tiny-f16.gguf"; M="$VM -n 8 --seed 7 -t 2"
CXR1=$D/cxr/Chest_Xray_PA_3-8-2010.png; CXR2=$D/cxr/Normal_PA_chest_radiograph_Haggstrom_447x512.png
LAB=$D/ehr/labtext_110_thyroid_function.txt

# --dump-prompt prints Gemma 3's template with each image as <image i: source>, then "tokens: N" (the
# expected texts are written from the template, MEDGEMMA.md section 3)
# longitudinal: system, prior image, current image, question (no labels); one prompt per -q
out=$($B/longitudinal $CXR1 $CXR2 -q 'Compare the two images.' -q 'Any interval change?' --dump-prompt $VM)
# the token count: the text tokenized whole, each image as its 256 soft tokens (control tokens parsed)
soft=$(awk 'BEGIN { for (i = 0; i < 256; i++) printf "<image_soft_token>" }')
count() { printf '%s' "$1" | sed "s|<image [0-9]: [^>]*>|$soft|g" > $T/count.txt; $B/mg tokenize -m $D/models/tiny-q4_k_m.gguf --no-bos -f $T/count.txt | wc -w; }
turn() { printf '<bos><start_of_turn>user\nYou are an expert radiologist.\n\n\n\n<start_of_image><image 0: %s><end_of_image>\n\n\n\n<start_of_image><image 1: %s><end_of_image>\n\n%s<end_of_turn>\n<start_of_turn>model\n' $CXR1 $CXR2 "$1"; }
want=$( { turn 'Compare the two images.'; echo "tokens: $(count "$(turn 'Compare the two images.')
")"; turn 'Any interval change?'; echo "tokens: $(count "$(turn 'Any interval change?')
")"; } )
[ "$out" = "$want" ] && ok "longitudinal prompt" || bad "longitudinal prompt: $out"

# localize: the image first, then the notebook's prompt with the object; no system text
out=$($B/localize $CXR2 --object 'right lung' --dump-prompt $VM)
case "$out" in "<bos><start_of_turn>user


<start_of_image><image 0: $CXR2><end_of_image>

Instructions:"*) ok "localize: image before text, no system";; *) bad "localize: image first: $out";; esac
case "$out" in *'Instructions:
The following user query will require outputting bounding boxes. '*'[y0, x0, y1, x1]'*'the range [0, 1000]'*'Remember "left" refers to the patient'"'"'s left side'*'

Query:
Where is the right lung? Don'"'"'t give a final answer without reasoning. Output the final answer in the format "Final Answer: X" where X is a JSON list of objects. The object needs a "box_2d" and "label" key. Answer:<end_of_turn>
<start_of_turn>model
tokens: '*) ok "localize prompt text";; *) bad "localize prompt text: $out";; esac

# labreport: text report pasted before the instruction; a page image as the image item, then the instruction
out=$($B/labreport $LAB --dump-prompt $VM)
case "$out" in '<bos><start_of_turn>user
You are a helpful medical assistant.

THYROID FUNCTION
Free T4 '*'( 0.1-4.0  )

Extract every test result from the lab report above as JSON.'*'"test"'*'"value"'*'"unit"'*'"reference_range"'*'"flag"'*'<end_of_turn>
<start_of_turn>model
tokens: '*) ok "labreport text prompt";;
  *) bad "labreport text prompt: $out";; esac
out=$($B/labreport $CXR2 --dump-prompt $VM)
case "$out" in "<bos><start_of_turn>user
You are a helpful medical assistant.



<start_of_image><image 0: $CXR2><end_of_image>

Extract every test result from the lab report above as JSON."*) ok "labreport image prompt";; *) bad "labreport image prompt: $out";; esac

# end to end on the tiny model
a=$($B/longitudinal $CXR1 $CXR2 -q 'Compare.' -q 'Any change?' $M --json 2> $T/err); rc=$?
[ $rc -eq 0 ] && [ "$(printf '%s\n' "$a" | grep -c '^{"question": "[A-Za-z ]*[.?]", "answer": ')" -eq 2 ] && ok "longitudinal: two answers" || bad "longitudinal run ($rc): $a $(cat $T/err)"

out=$($B/localize $CXR2 --object 'heart' --draw $T/boxes.png $M 2> $T/err); rc=$?
[ $rc -eq 0 ] && [ "$out" = "[]" ] && ok "localize: [] on nonsense" || bad "localize output ($rc): $out"
grep -q '^no boxes found: ' $T/err && ok "localize: says no boxes found" || bad "localize stderr: $(cat $T/err)"
[ "$(head -c 8 $T/boxes.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] && ok "localize --draw writes a PNG" || bad "localize --draw"
b=$($B/localize $CXR2 --object 'heart' $M --json 2> /dev/null)
case "$b" in '{"question": "heart", "answer": "'*'"provenance": {'*'}, "boxes": []}') ok "localize --json";; *) bad "localize --json: $b";; esac

out=$($B/labreport $LAB $M 2> $T/err); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] && ok "labreport: exit 1, nothing on stdout" || bad "labreport ($rc): $out"
[ "$(grep -c 'retrying once with a stricter instruction' $T/err)" -eq 1 ] && ok "labreport: exactly one retry" || bad "labreport retries: $(cat $T/err)"
grep -q '^error: the answer is still not valid lab JSON after one retry: json: ' $T/err && ok "labreport: final error names the parser's complaint" || bad "labreport error: $(cat $T/err)"
$B/labreport $LAB $M --temp 0.8 --quiet > /dev/null 2> $T/s1; $B/labreport $LAB $M --temp 0.8 --quiet > /dev/null 2> $T/s2
cmp -s $T/s1 $T/s2 && ok "labreport: sampling deterministic with a seed" || bad "labreport sampling differs between runs"
b=$($B/labreport $LAB $M --json 2> /dev/null); rc=$?
case "$rc $b" in '1 {"attempts": 2, "question": "Your previous answer could not be used: '*'", "answer": "'*'"error": "json: '*) ok "labreport --json failure";; *) bad "labreport --json ($rc): $b";; esac

# usage and hostile inputs
$B/longitudinal $CXR1 -q x > /dev/null 2>&1; [ $? -eq 2 ] && ok "longitudinal usage (one image)" || bad "longitudinal usage"
$B/localize $CXR1 --dump-prompt > /dev/null 2>&1; [ $? -eq 2 ] && ok "localize usage (no --object)" || bad "localize usage"
$B/localize $CXR1 --object '' --dump-prompt > /dev/null 2>&1; [ $? -eq 2 ] && ok "localize rejects an empty object" || bad "localize empty object"
$B/labreport > /dev/null 2>&1; [ $? -eq 2 ] && ok "labreport usage" || bad "labreport usage"
$B/longitudinal $CXR1 $D/cxr/missing.png -q x --dump-prompt $VM > /dev/null 2> $T/err; [ $? -eq 1 ] && grep -q 'missing.png' $T/err && ok "longitudinal missing file" || bad "longitudinal missing file"
$B/localize $LAB --object heart --dump-prompt $VM > /dev/null 2>&1; [ $? -eq 1 ] && ok "localize rejects a text file" || bad "localize on text"
head -c 3000 $D/models/tiny-q4_k_m.gguf > $T/bin.dat    # the first NUL at offset 5: "GGUF", then 3 as a u32
$B/labreport $T/bin.dat --dump-prompt $VM > /dev/null 2> $T/err; [ $? -eq 1 ] && grep -q "^error: $T/bin.dat: a NUL byte at offset 5: not text" $T/err && ok "labreport rejects binary" || bad "labreport binary: $(cat $T/err)"
rm -rf "$T"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
