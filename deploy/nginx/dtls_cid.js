// dtls_cid.js: the njs half of the DTLS load balancer in deploy/nginx (see docs/deploy.md).
//
// nginx's stream module calls `preread` once per UDP session (a client address and port),
// with the session's first datagram. It reads the Connection ID (CID) from the datagram's
// first record, if it has one, and sets $dtls_server_id to the hex of the CID's first
// $dtls_server_id_len bytes: the id of the backend that issued that CID. A `map` in the
// nginx config turns a known id into that backend's upstream; an empty or unknown id falls
// back to the upstream that hashes the client's address and port (hellos, records without a
// CID, anything malformed).
//
// Where the CID sits (`cid_len` bytes, not on the wire, the same for the whole deployment):
// - DTLS 1.2, RFC 9146: content type 25 (tls12_cid), version (2, major 0xfe), epoch (2),
//   sequence number (6), the CID, length (2): the CID starts at byte 11.
// - DTLS 1.3, RFC 9147 section 4: the unified header's first byte is 001CSLEE, and with the
//   C bit (0x10) the CID follows it at byte 1.
//
// Never throws: a short, empty or odd datagram routes by address. Configuration, from the
// nginx config (`js_var`): $dtls_cid_len and $dtls_server_id_len, in bytes.

const TLS12_CID = 25;
const TLS12_CID_OFFSET = 11; // type (1) + version (2) + epoch (2) + sequence number (6)
const UNIFIED_MASK = 0xe0;
const UNIFIED_FIXED = 0x20; // 001xxxxx
const UNIFIED_C = 0x10;

function byteAt(data, i) {
    return typeof data === 'string' ? data.charCodeAt(i) & 0xff : data[i];
}

function hex(data, from, len) {
    var out = '';
    for (var i = from; i < from + len; i++) {
        var b = byteAt(data, i);
        out += (b < 16 ? '0' : '') + b.toString(16);
    }
    return out;
}

function config(s, name, fallback) {
    var n = parseInt(s.variables[name], 10);
    return isNaN(n) || n < 0 || n > 255 ? fallback : n;
}

// The offset of the CID in `data`'s first record, or -1 when it carries none (or is too
// short to hold `cidLen` bytes of one).
function cidOffset(data, cidLen) {
    var len = data.length;
    if (len < 1 || cidLen < 1) {
        return -1;
    }
    var first = byteAt(data, 0);
    var at = -1;
    if (first === TLS12_CID) {
        if (len >= 2 && byteAt(data, 1) === 0xfe) {
            at = TLS12_CID_OFFSET;
        }
    } else if ((first & UNIFIED_MASK) === UNIFIED_FIXED && (first & UNIFIED_C) !== 0) {
        at = 1;
    }
    return at >= 0 && len >= at + cidLen ? at : -1;
}

// The server id (lowercase hex) of the CID in the first record of `data`, or '' when the
// datagram carries no CID.
function serverId(data, cidLen, sidLen) {
    if (sidLen < 1 || sidLen > cidLen) {
        return '';
    }
    var at = cidOffset(data, cidLen);
    return at < 0 ? '' : hex(data, at, sidLen);
}

function preread(s) {
    var decided = false;
    s.on('upstream', function (data, flags) {
        if (decided) {
            return;
        }
        decided = true;
        var id = '';
        try {
            id = serverId(data, config(s, 'dtls_cid_len', 0), config(s, 'dtls_server_id_len', 0));
        } catch (e) {
            s.warn('dtls_cid: ' + e);
            id = '';
        }
        s.variables.dtls_server_id = id;
        s.off('upstream');
        s.done();
    });
}

export default { preread, serverId };
