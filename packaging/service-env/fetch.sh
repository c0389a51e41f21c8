# Sourced by build and loaders. fetch PACKAGE RECORD: the current version of a Debian package,
# downloaded into $cache (not installed on this machine) and unpacked under $cache/PACKAGE once;
# appends "package version" to the file RECORD and prints the unpacked folder.
fetch() {
  local package=$1 record=$2 deb tree candidate
  candidate=$(apt-cache policy "$package" | awk '/Candidate:/ {print $2}')
  [ -n "$candidate" ] && [ "$candidate" != "(none)" ] ||
    { echo "$0: apt knows no package $package (apt-get update?)" >&2; return 1; }
  deb=$(ls -t "$cache/${package}"_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$deb" ] || [ "$(dpkg-deb -f "$deb" Version)" != "$candidate" ]; then
    # apt drops privileges to _apt for downloads: let it write into the cache.
    chown _apt "$cache" 2>/dev/null || true
    (cd "$cache" && apt-get download -q "$package" >/dev/null) ||
      { echo "$0: apt-get download $package failed" >&2; return 1; }
    deb=$(ls -t "$cache/${package}"_*.deb | head -1)
  fi
  tree="$cache/$package"
  if [ ! -f "$tree/.unpacked" ] || [ "$tree/.unpacked" -ot "$deb" ]; then
    rm -rf "$tree"
    dpkg-deb -x "$deb" "$tree"
    touch "$tree/.unpacked"
  fi
  echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)" >>"$record"
  echo "$tree"
}
