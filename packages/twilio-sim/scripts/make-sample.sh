#!/usr/bin/env bash
# Builds assets/sample-call.wav: a ~25 s two-party field-service call, 8 kHz 16-bit stereo.
# Channel 1 = agent (en-us, male, lower pitch), channel 2 = technician (en-gb+f3, female, higher pitch).
# While one party speaks the other channel is silent, as in a dual-channel Twilio recording.
# Needs espeak-ng and sox. Deterministic: same inputs give the same file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/assets/sample-call.wav}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

agent_voice=(-v en-us -p 35 -s 155)
tech_voice=(-v en-gb+f3 -p 70 -s 150)
pause_s=0.45

turns=(
  "agent|Hi, this is dispatch. Are you on site at the Riverside clinic yet?"
  "tech|Yes, I just got here. The rooftop unit is making a loud grinding noise."
  "agent|Okay. Can you check the condenser fan motor first?"
  "tech|The fan blade is loose and the bearing looks worn out."
  "agent|Do you have a replacement motor on the truck?"
  "tech|I have one. It should take about forty minutes to swap."
  "agent|Great, I will update the work order and let the office know."
  "tech|Thanks. I will call back when the unit is running again."
  "agent|Sounds good. Stay safe up on that roof."
  "tech|Will do. Talk to you soon."
)

agent_parts=()
tech_parts=()
i=0
for turn in "${turns[@]}"; do
  who="${turn%%|*}"
  text="${turn#*|}"
  raw="$work/raw$i.wav"
  speech="$work/speech$i.wav"
  silence="$work/silence$i.wav"
  if [[ "$who" == agent ]]; then voice=("${agent_voice[@]}"); else voice=("${tech_voice[@]}"); fi
  espeak-ng "${voice[@]}" -w "$raw" "$text"
  # Resample to telephone rate and append a short pause after each turn.
  sox -D "$raw" -r 8000 -c 1 -b 16 "$speech" pad 0 "$pause_s"
  # The silent side gets exactly as many samples as the speaking side.
  samples="$(soxi -s "$speech")"
  sox -D -n -r 8000 -c 1 -b 16 "$silence" trim 0 "${samples}s"
  if [[ "$who" == agent ]]; then
    agent_parts+=("$speech"); tech_parts+=("$silence")
  else
    agent_parts+=("$silence"); tech_parts+=("$speech")
  fi
  i=$((i + 1))
done

sox -D "${agent_parts[@]}" "$work/agent.wav"
sox -D "${tech_parts[@]}" "$work/tech.wav"
mkdir -p "$(dirname "$out")"
sox -D -M "$work/agent.wav" "$work/tech.wav" -b 16 "$out"
soxi "$out"
