#!/usr/bin/env bash
# Refreshes the GraphiQL page's vendored scripts and styles (ucs_graphql/web/static/graphiql/vendor/) from the
# npm registry at the versions pinned below, with each package's licence beside them, so the page served at
# /graphql loads nothing from another origin. Needs npm. Run `make graphiql` (or this script) after changing a
# version, then commit the folder.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(react@18.2.0 react-dom@18.2.0 graphiql@3.8.3 @graphiql/plugin-explorer@1.0.2)
OUT=ucs_graphql/web/static/graphiql/vendor

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "${PACKAGES[@]}" >/dev/null)
for archive in "$tmp"/*.tgz; do
  name=$(basename "$archive" .tgz)
  mkdir -p "$tmp/$name" && tar xzf "$archive" -C "$tmp/$name"
done

rm -rf "$OUT"
mkdir -p "$OUT/licences"
take() {  # take PACKAGE-DIR FILE-IN-PACKAGE NAME-IN-VENDOR
  cp "$tmp/$1/package/$2" "$OUT/$3"
}
take react-18.2.0 umd/react.production.min.js react.production.min.js
take react-dom-18.2.0 umd/react-dom.production.min.js react-dom.production.min.js
take graphiql-3.8.3 graphiql.min.js graphiql.min.js
take graphiql-3.8.3 graphiql.min.css graphiql.min.css
take graphiql-plugin-explorer-1.0.2 dist/index.umd.js graphiql-plugin-explorer.umd.js
take graphiql-plugin-explorer-1.0.2 dist/style.css graphiql-plugin-explorer.css
# The builds point at source maps they do not ship beside them here: drop the pointer.
sed -i '/^\/\/# sourceMappingURL=/d' "$OUT"/*.js
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$OUT"/*.css

for dir in "$tmp"/*/package; do
  pkg=$(node -p "const p = require('$dir/package.json'); p.name + '@' + p.version + ' (' + p.license + ')'")
  file=$(basename "$(dirname "$dir")")
  if [ -f "$dir/LICENSE" ]; then
    cp "$dir/LICENSE" "$OUT/licences/$file.LICENSE"
  else
    # @graphiql/plugin-explorer ships no licence file: it is MIT, from the graphql/graphiql repository,
    # whose LICENSE the graphiql package carries.
    { echo "$pkg ships no licence file; its package.json says MIT and it comes from the graphql/graphiql"
      echo "repository, whose licence follows."; echo; cat "$tmp"/graphiql-*/package/LICENSE; } \
      > "$OUT/licences/$file.LICENSE"
  fi
  echo "$pkg"
done | sort > "$OUT/VERSIONS"
(cd "$OUT" && sha256sum ./*.js ./*.css | sed 's# \./# #' >> VERSIONS)
echo "refreshed $OUT:"
cat "$OUT/VERSIONS"
