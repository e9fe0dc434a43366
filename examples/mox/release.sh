#!/bin/sh
# Tags a release, pushes it and publishes it on GitHub: the kind of script
# that is hard to test, because every command it runs changes the world.
set -eu
version="$1"
case "$version" in
    v[0-9]*) ;;
    *) echo "usage: release.sh vX.Y.Z" >&2; exit 2 ;;
esac
if [ -n "$(git status --porcelain)" ]; then
    echo "release.sh: the working tree is dirty" >&2
    exit 1
fi
today="$(date +%F)"
git tag -a "$version" -m "Release $version ($today)"
git push origin "$version"
notes="$(git log --format='- %s' -n 3)"
printf '%s\n' "$notes" | gh release create "$version" --notes-file -
echo "released $version on $today"
