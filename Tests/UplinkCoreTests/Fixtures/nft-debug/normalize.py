#!/usr/bin/python3
"""Turns `nft --debug=netlink,mnl -f FILE` output into the two fixtures NftEncodingTests compares
with: FILE.rules.txt (each rule's expressions, nft's netlink text) and FILE.messages.txt (every
message of the batch nft sent, in its order: table, chains, counters, sets and maps with their
element lists, rules; as hex, without the per-transaction set IDs).
Usage: normalize.py DEBUG-OUTPUT PREFIX  (see README.md)."""
import re, struct, sys

ANSI = re.compile(r'\x1b\[[0-9;]*m')
NESTED = 0x8000
# NFT_MSG_GET*: nft's reads of the ruleset before its batch.
READS = {1, 4, 7, 10, 13, 16, 19, 21, 23}

def messages(text):
    """Each netlink message's type and payload bytes, rebuilt from libmnl's dump."""
    result, current = [], None
    for raw in text.splitlines():
        line = ANSI.sub('', raw)
        if re.match(r'\|\s+\d{10}\s+\|\s+\| message length', line):
            current = {'type': 0, 'body': bytearray()}
            result.append(current)
        elif current is None:
            continue
        elif m := re.match(r'\| (\d{5}) \| .{4} \|\s+\|  type \| flags', line):
            current['type'] = int(m.group(1))
        elif m := re.match(r'\|(\d{5})\|(..)\|(\d{5})\|\s+\|len \|flags\| type\|', line):
            flags = (NESTED if m.group(2)[0] == 'N' else 0) | (0x4000 if m.group(2)[1] == 'B' else 0)
            current['body'] += struct.pack('<HH', int(m.group(1)), int(m.group(3)) | flags)
        elif m := re.match(r'\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2})  \|\s+\|\s+(data|extra header)', line):
            current['body'] += bytes(int(g, 16) for g in m.groups()[:4])
    return result

def attributes(buf):
    out, i = [], 0
    while i + 4 <= len(buf):
        length, kind = struct.unpack_from('<HH', buf, i)
        out.append((kind, bytes(buf[i + 4:i + length])))
        i += (length + 3) & ~3
    return out

def encode(attrs):
    out = bytearray()
    for kind, data in attrs:
        out += struct.pack('<HH', 4 + len(data), kind) + data + bytes(-len(data) % 4)
    return bytes(out)

def name(attrs, kind):
    return next(d for k, d in attrs if k & 0x3fff == kind).split(b'\0')[0].decode()

def without_lookup_set_ids(expressions):
    """nft names the set of a lookup by name and by its transaction ID; uplinkctl by name only."""
    result = []
    for kind, element in attributes(expressions):
        parts = attributes(element)
        if name(parts, 1) == 'lookup':
            parts = [(k, d if k & 0x3fff != 2 else encode([(a, b) for a, b in attributes(d) if a & 0x3fff != 4])) for k, d in parts]
        result.append((kind, encode(parts)))
    return encode(result)

def main():
    text = open(sys.argv[1]).read()
    prefix = sys.argv[2]
    lines = []
    for message in messages(text):
        # nf_tables messages only: the batch's begin and end, and the cache's reads, are not.
        if message['type'] >> 8 != 10:
            continue
        kind, attrs = message['type'] & 0xff, attributes(message['body'][4:])
        if kind == 0:  # NEWTABLE
            lines.append(f"table {name(attrs, 1)} {encode(attrs).hex()}")
        elif kind == 3:  # NEWCHAIN
            lines.append(f"chain {name(attrs, 3)} {encode(attrs).hex()}")
        elif kind == 18:  # NEWOBJ (uplinkctl's objects are counters)
            lines.append(f"counter {name(attrs, 2)} {encode(attrs).hex()}")
        elif kind == 9:  # NEWSET, without NFTA_SET_ID
            lines.append(f"set {name(attrs, 2)} {encode([(k, d) for k, d in attrs if k & 0x3fff != 10]).hex()}")
        elif kind == 12:  # NEWSETELEM, without NFTA_SET_ELEM_LIST_SET_ID
            lines.append(f"elements {name(attrs, 2)} {encode([(k, d) for k, d in attrs if k & 0x3fff != 4]).hex()}")
        elif kind == 6:  # NEWRULE
            attrs = [(k, without_lookup_set_ids(d) if k & 0x3fff == 4 else d) for k, d in attrs]
            lines.append(f"rule {name(attrs, 2)} {encode(attrs).hex()}")
        elif kind not in READS:  # a change the fixture would leave out
            sys.exit(f"unexpected nf_tables message {kind}")
    open(prefix + '.messages.txt', 'w').write('\n'.join(lines) + '\n')
    # The netlink text of the rules: `inet TABLE CHAIN` and the expression lines under it.
    rules, lines = [], text.splitlines()
    for index, line in enumerate(lines):
        if re.fullmatch(r'inet \S+ \S+', line) and index + 1 < len(lines) and lines[index + 1].startswith('  ['):
            body = [line]
            for following in lines[index + 1:]:
                if not following.startswith('  ['):
                    break
                body.append(following)
            rules.append('\n'.join(body) + '\n\n')
    open(prefix + '.rules.txt', 'w').write(''.join(rules))

if __name__ == '__main__':
    main()
