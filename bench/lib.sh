# Shared by the benchmark scripts beside this file: timing, the plan's numbers, making room with
# the raw tools, and rounds that alternate the two sides on copies of one image. Source it.

# Installs Debian packages for a benchmark's baseline, waiting up to ten minutes for another apt or
# dpkg run's lock instead of failing, and without starting any service they bring: a
# policy-rc.d that refuses starts is in place only while apt runs (and removed whatever happens,
# unless one was there before).
install_packages() {
  local policy=/usr/sbin/policy-rc.d ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && ours=1
  fi
  local status=0
  { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null; } || status=$?
  [ -n "$ours" ] && rm -f "$policy"
  return $status
}

# The minimum, median and maximum of the numbers given, as "min X, median Y, max Z": a round on a
# busy machine shows as an outlier instead of moving a mean.
spread() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "min %.2f, median %.2f, max %.2f", v[1], m, v[NR]}'
}

# A 16 GiB GPT Windows-like disk at DISK whose 2 GiB Lifeboat partition `disk prepare` made, the
# partition filled with zeros once so that no side of a benchmark pays for allocating a sparse
# file's blocks (a real disk has them). Sets start and size (sectors) of that partition.
prepared_disk() {  # DISK STATE_DIR
  tests/fixtures/make-windows-disk "$1" --label gpt --disk-size 16G --windows-size 12000M --fill-mb 200
  build/bin/lifeboat-agent disk prepare "$1" --size 2G --state-dir "$2" >/dev/null
  read -r start size < <(sfdisk --json "$1" | tr -d ' \n' |
    grep -o '"start":[0-9]*,"size":[0-9]*,"type":"DE94BBA4[^}]*"name":"Lifeboat"' |
    sed 's/"start":\([0-9]*\),"size":\([0-9]*\).*/\1 \2/')
  dd if=/dev/zero of="$1" bs=8M seek=$((start * 512)) count=$((size * 512 / 8388608)) \
    oflag=seek_bytes conv=notrunc status=none
}

seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

# The partition layout without what differs between runs (the new partition's random GUID).
layout() { sfdisk -d "$1" | grep '^/' | sed 's/uuid=[^,]*,//; s/^[^:]*://'; }

same_layout() { diff <(layout "$1") <(layout "$2") >&2 || { echo "layouts differ" >&2; exit 1; }; }

# Reads `disk plan`'s numbers for DISK and SIZE into globals: new_ntfs (bytes), new_win_sectors,
# move_to, lb_start, lb_size, and the Windows partition (3) as win_start, win_size (sectors).
read_plan() {
  local plan
  plan=$(build/bin/lifeboat-agent disk plan "$1" --size "$2" --json)
  field() { grep -o "\"$1\": [0-9]*" <<<"$plan" | sed -n "${2:-1}p" | grep -o '[0-9]*$'; }
  new_ntfs=$(field new_size_bytes) new_win_sectors=$(field new_size_sectors) move_to=$(field to_sector)
  lb_start=$(field start_sector 3)  # recovery, then create-partition's own start_sector
  lb_size=$(field size_sectors 4)
  read -r win_start win_size < <(sfdisk -d "$1" | awk -F'[=,]' '/img3 :/ {gsub(/ /,""); print $2, $4}')
}

# What `disk prepare` does, with the raw tools: shrink NTFS (info, rehearsal, resize), resize
# partition 3, move WinRE (4), append and format Lifeboat's partition.
make_room_by_hand() {
  local disk=$1 l
  l=$(losetup --find --show --offset $((win_start * 512)) --sizelimit $((win_size * 512)) "$disk")
  ntfsresize --info --no-progress-bar "$l" >/dev/null
  ntfsresize --no-action --no-progress-bar --size "$new_ntfs" "$l" >/dev/null
  ntfsresize --force --no-progress-bar --size "$new_ntfs" "$l" >/dev/null
  losetup -d "$l"
  echo "size=$new_win_sectors" | sfdisk -q --no-reread -N 3 "$disk"
  echo "start=$move_to" | sfdisk -q --no-reread --move-data -N 4 "$disk" 2>/dev/null
  echo "start=$lb_start, size=$lb_size, type=DE94BBA4-06D1-4D40-A16A-BFD50179D6AC, name=Lifeboat, attrs=\"RequiredPartition GUID:63\"" |
    sfdisk -q --no-reread --append "$disk"
  l=$(losetup --find --show --offset $((lb_start * 512)) --sizelimit $((lb_size * 512)) "$disk")
  mkntfs -Q -q -L Lifeboat -p "$lb_start" -H 255 -S 63 "$l"
  losetup -d "$l"
}

# race ROUNDS PRISTINE BY_HAND LIFEBOAT CHECK NAME: each round copies PRISTINE twice, drops the page
# cache before each side, times BY_HAND on one copy and LIFEBOAT on the other, then runs CHECK on
# both copies; prints each round and the ratio lifeboat / by hand.
race() {
  local rounds=$1 pristine=$2 by_hand=$3 lifeboat=$4 check=$5 name=$6 dir i t_hand t_lb
  local total_hand=0 total_lb=0 ratios=()
  dir=$(dirname "$pristine")
  for i in $(seq 1 "$rounds"); do
    cp --sparse=always "$pristine" "$dir/a.img"
    cp --sparse=always "$pristine" "$dir/b.img"
    sync; echo 3 > /proc/sys/vm/drop_caches
    t_hand=$(seconds "$by_hand" "$dir/a.img")
    sync; echo 3 > /proc/sys/vm/drop_caches
    t_lb=$(seconds "$lifeboat" "$dir/b.img")
    printf 'round %d: by hand %.2f s, lifeboat %.2f s, ratio %.2f\n' "$i" "$t_hand" "$t_lb" "$(echo "$t_lb / $t_hand" | bc -l)"
    total_hand=$(echo "$total_hand + $t_hand" | bc -l); total_lb=$(echo "$total_lb + $t_lb" | bc -l)
    ratios+=("$(echo "$t_lb / $t_hand" | bc -l)")
    "$check" "$dir/a.img" "$dir/b.img"
  done
  printf '%s ratio over %d rounds: %.2f (per round: %s)\n' "$name" "$rounds" \
    "$(echo "$total_lb / $total_hand" | bc -l)" "$(spread "${ratios[@]}")"
}
