# What TAB offers in a real interactive zsh (on a pseudo-terminal, zsh/zpty) for the line $2, with the
# directory $1 on $fpath before compinit, as a user's ~/.zshrc would have it: one match a line.
# (The same technique as Tests/EndToEndTests/CompletionZshTests.swift.)
zmodload zsh/zpty || exit 3
local dir=$1 line=$2 setup=${TMPDIR:-/tmp}/batchctl-zsh-setup-$$.zsh
cat > $setup <<SETUP
PROMPT='' RPROMPT=''
fpath=(${(q)dir} \$fpath)
autoload -Uz compinit && compinit -u -d ${(q)setup}.zcompdump
bindkey '^I' complete-word
compadd() {
    if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\\ * ]]; then builtin compadd "\$@"; return; fi
    local -a __hits
    builtin compadd -A __hits "\$@"
    builtin compadd "\$@"
    local i
    for i in \$__hits; do print -r -- "MATCH:\$i"; done
}
_capture_begin() { print -r -- '<<BEGIN>>' }
_capture_end() { print -r -- '<<END>>'; exit }
compprefuncs=(_capture_begin)
comppostfuncs=(_capture_end)
print -r -- '<<READY>>'
SETUP
zpty z zsh -f -i
zpty -w z "source ${(q)setup}"
local out
while zpty -r z out; do [[ $out == *'<<READY>>'* && $out != *source* ]] && break; done
zpty -w -n z "$line"$'\t'
integer on=0
while zpty -r z out; do
    out=${out//$'\r'/}
    if [[ $out == *'<<BEGIN>>'* ]]; then on=1; continue; fi
    [[ $out == *'<<END>>'* ]] && break
    (( on )) && [[ $out == MATCH:* ]] && print -r -- ${out#MATCH:}
done
zpty -d z
rm -f $setup $setup.zcompdump
