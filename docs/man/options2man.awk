# options2man.awk - conf/options.md as the man page herald.conf(5)
#
#   LC_ALL=C awk -f options2man.awk conf/options.md > herald.conf.5
#
# options.md is the one source of the device file's reference; this turns
# the Markdown it uses into man(7) roff at build time, so the page and the
# file can never disagree.  Handled: "#" (the title, dropped: the page has
# its own), "##" sections, "###" subsections, paragraphs, tables (each row a
# tagged paragraph: the option in bold, then its type, default and
# meaning), ``` code blocks, `code`, **bold** and [text](link).  Every
# non-ASCII character becomes a groff \[uXXXX] escape; run with LC_ALL=C so
# awk sees octets.

BEGIN {
    for (i = 1; i < 256; i++)
        ord[sprintf("%c", i)] = i
    print ".\\\" herald.conf.5 - generated from conf/options.md by docs/man/options2man.awk; do not edit"
    print ".TH HERALD.CONF 5 \"\" \"Herald\" \"File Formats\""
    print ".SH NAME"
    print "herald.conf \\- Herald device file"
    print ".SH DESCRIPTION"
    in_code = 0; in_table = 0; para = 0; ncols = 0
}

# unicode - groff escapes for the UTF-8 sequences in s (octets, LC_ALL=C)
function unicode(s,    out, i, c, n, cp, k) {
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = ord[substr(s, i, 1)]
        if (c < 128) { out = out substr(s, i, 1); continue }
        if (c >= 240) { n = 3; cp = c - 240 }
        else if (c >= 224) { n = 2; cp = c - 224 }
        else if (c >= 192) { n = 1; cp = c - 192 }
        else { out = out "?"; continue }
        for (k = 1; k <= n; k++)
            cp = cp * 64 + (ord[substr(s, i + k, 1)] - 128)
        i += n
        out = out sprintf("\\[u%04X]", cp)
    }
    return out
}

# escape - roff-safe text: backslashes, then a leading dot or quote
function escape(s) {
    gsub(/\\/, "\\e", s)
    s = unicode(s)
    if (s ~ /^[.']/)
        s = "\\&" s
    return s
}

# inline - `code` and **bold** in bold, [text](link) as text
function inline(s,    out, pre, m) {
    s = escape(s)
    while (match(s, /\[[^]]*\]\([^)]*\)/)) {
        m = substr(s, RSTART, RLENGTH)
        sub(/\]\(.*/, "", m)
        s = substr(s, 1, RSTART - 1) substr(m, 2) substr(s, RSTART + RLENGTH)
    }
    out = ""
    while (match(s, /`[^`]*`/)) {
        out = out substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 1, RLENGTH - 2) "\\fR"
        s = substr(s, RSTART + RLENGTH)
    }
    s = out s
    out = ""
    while (match(s, /\*\*[^*]*\*\*/)) {
        out = out substr(s, 1, RSTART - 1) "\\fB" substr(s, RSTART + 2, RLENGTH - 4) "\\fR"
        s = substr(s, RSTART + RLENGTH)
    }
    return out s
}

# cells - split a table row into cell[1..n], trimmed; returns n
function cells(line,    n, i, parts) {
    sub(/^[ \t]*\|/, "", line)
    sub(/\|[ \t]*$/, "", line)
    n = split(line, parts, /\|/)
    for (i = 1; i <= n; i++) {
        cell[i] = parts[i]
        gsub(/^[ \t]+|[ \t]+$/, "", cell[i])
    }
    return n
}

in_code && /^```/ { print ".fi"; print ".RE"; in_code = 0; para = 1; next }
in_code { print escape($0) == "" ? "\\&" : escape($0); next }

/^```/ { print ".PP"; print ".RS 4"; print ".nf"; in_code = 1; next }

# row - one table row as a tagged paragraph, its cells named by head[]
function row(n,    i, text) {
    print ".TP"
    print inline(cell[1])
    text = ""
    for (i = 2; i <= n; i++) {
        if (cell[i] == "")
            continue
        if (head[i] == "meaning")
            text = text (text == "" ? "" : ". ") inline(cell[i])
        else
            text = text (text == "" ? "" : "; ") "\\fI" escape(head[i]) ":\\fR " inline(cell[i])
    }
    print text
}

# A table: its first row is the header when a separator row follows it;
# otherwise (rows that carry on a table after a paragraph) it is a row of
# the previous table's columns.
/^\|/ {
    if (pending != "") {
        line = $0
        n = cells(line)
        if (cell[1] ~ /^[-: ]+$/) {   # the separator: pending was the header
            n = cells(pending)
            for (i = 1; i <= n; i++)
                head[i] = cell[i]
            pending = ""
            next
        }
        n = cells(pending)
        row(n)
        pending = ""
        n = cells(line)
        row(n)
        para = 1
        next
    }
    if (!in_table) {
        pending = $0
        in_table = 1
        next
    }
    n = cells($0)
    if (cell[1] ~ /^[-: ]+$/)
        next
    row(n)
    para = 1
    next
}
in_table {
    in_table = 0
    if (pending != "") {
        n = cells(pending)
        row(n)
        pending = ""
    }
}

/^# / { next }
/^## / { sub(/^## /, ""); print ".SH " inline(toupper($0)); para = 0; next }
/^### / { sub(/^### /, ""); print ".SS " inline($0); para = 0; next }
/^[ \t]*$/ { para = 1; next }
{
    if (para) { print ".PP"; para = 0 }
    print inline($0)
}

END {
    print ".SH FILES"
    print ".TP"
    print ".I $sysconfdir/herald.conf"
    print "the default device file, unless \\fB\\-c\\fR FILE or \\fB$HERALD_CONF\\fR names another"
    print ".SH SEE ALSO"
    print ".BR herald (1),"
    print ".BR herald-sendmail (8),"
    print ".BR herald-modules (7),"
    print ".BR libherald (3)"
}
