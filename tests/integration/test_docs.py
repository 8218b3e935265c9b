#!/usr/bin/python3
"""The man pages and the bash completion, as an administrator meets them.

1. rvgadm(8) and rvgd(8), built from doc/man/*.scd, render with `man -l`;
   every command `rvgadm --help` lists, and every option in rvgd's usage
   line, is in its page (a command added without its documentation fails
   here).
2. packaging/completion/rvgadm, sourced into a real bash, completes
   commands, options, the RVG names of the --home given (rvgadm list) and
   the hosts of an RVG (rvgadm list RVG).
"""

import os
import re
import subprocess

import rvgtest
from rvgsys import RVGADM, RVGD
from rvgtest import check, log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rendered(page):
    path = os.path.join(os.environ['RVG_BUILD'], 'doc', 'man', page)
    check(os.path.exists(path), f'{path} was not built (scdoc)')
    cp = subprocess.run(['man', '-l', path], capture_output=True, text=True,
                        env=dict(os.environ, MANPAGER='cat', MANWIDTH='100', LANG='C.UTF-8'),
                        timeout=60)
    check(cp.returncode == 0 and cp.stdout.strip(),
          f'man -l {page}: exit {cp.returncode}, {cp.stderr.strip()}')
    # Undo overstriking (bold, underline) in case the pager kept it.
    return re.sub(r'.\x08', '', cp.stdout)


def man_pages():
    page = rendered('rvgadm.8')
    check('rvgadm - administer replicated volume groups' in page, 'rvgadm(8) lacks its NAME line')
    usage = subprocess.run([RVGADM, '--help'], capture_output=True, text=True, timeout=30).stdout
    commands = re.findall(r'^  (\S+) ', usage, re.MULTILINE)
    check(len(commands) > 20, f'rvgadm --help listed only {commands}')
    # A command's entry line starts at the man page's first indent, or
    # follows a comma there ("pauserep RVG SEC, resumerep RVG SEC"): prose
    # that happens to use the word ("a set of volumes") does not count.
    entries = re.findall(r'^ {7}(\S.*)$', page, re.MULTILINE)
    missing = [c for c in commands
               if not any(re.match(rf'(.*, )?{re.escape(c)}( |$)', e) for e in entries)]
    check(not missing, f'rvgadm(8) does not document {missing}')
    attributes = re.search(r'RLINK attributes: ([^.]*)\.', usage, re.DOTALL).group(1)
    missing = [a.strip() for a in attributes.split(',') if a.strip() not in page]
    check(not missing, f'rvgadm(8) does not document the attributes {missing}')
    log(f'rvgadm(8) renders and documents all {len(commands)} commands')

    page = rendered('rvgd.8')
    usage = subprocess.run([RVGD, '--help'], capture_output=True, text=True, timeout=30).stderr
    line = re.search(r'^usage: rvgd .*$', usage, re.MULTILINE)
    check(line, f'rvgd printed no usage line: {usage!r}')
    options = re.findall(r'--[a-z-]+', line.group(0))
    check(options, f'rvgd printed no usage line: {usage!r}')
    missing = [o for o in options if o not in page]
    check(not missing, f'rvgd(8) does not document {missing}')
    log(f'rvgd(8) renders and documents {options}')


def completions(rvgadm_dir, line):
    """What bash completes for `line` (the cursor at its end)."""
    script = f'''
source {os.path.join(ROOT, 'packaging', 'completion', 'rvgadm')}
COMP_LINE="$1"
read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
_rvgadm
printf '%s\\n' "${{COMPREPLY[@]}}"
'''
    cp = subprocess.run(['bash', '-c', script, 'complete', line], capture_output=True, text=True,
                        env=dict(os.environ, PATH=rvgadm_dir + ':' + os.environ['PATH']),
                        timeout=60)
    check(cp.returncode == 0, f'completing {line!r}: {cp.stderr.strip()}')
    return sorted(w for w in cp.stdout.split('\n') if w)


def shell_completion(env):
    h = env.host('docs')
    rvgadm_dir = os.path.dirname(RVGADM)
    h.create_primary([('a', '4M')], srl='4M')
    h.rvgadm('addsec', h.rvg, 'london', '--address', 'tcp://127.0.0.1:7999', '--insecure')
    cases = [
        ('rvgadm st', ['start', 'startrep', 'stats', 'status', 'stop', 'stoprep']),
        ('rvgadm startrep x y --', ['--checksum', '--full', '--wait']),
        (f'rvgadm --home {h.home} status ', [h.rvg]),
        (f'rvgadm --home {h.home} pauserep {h.rvg} ', ['london']),
        (f'rvgadm --home {h.home} drain {h.rvg} --timeout 5 ', ['london']),
        (f'rvgadm --home {h.home} drain {h.rvg} --timeout ', []),  # a number: nothing
        ('rvgadm create x --role ', ['primary', 'secondary']),
    ]
    for line, expected in cases:
        got = completions(rvgadm_dir, line)
        check(got == expected, f'completing {line!r}: {got}, expected {expected}')
    log(f'bash completes commands, options, RVG names and hosts ({len(cases)} cases)')


def main(env):
    man_pages()
    shell_completion(env)


if __name__ == '__main__':
    rvgtest.run(main)
