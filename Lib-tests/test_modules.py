"""Smoke tests for the extension modules a drop-in interpreter must have.

A stock 2.7-3.6 release built on a current distribution (Debian 12: OpenSSL
3, gcc 12, glibc without Sun RPC) silently leaves out or breaks some of them;
patches/X.Y/compat fixes that.  These tests prove the result works, not just
that it imports: a real TLS handshake, hashes against published vectors,
a C callback through ctypes and ctypes' object layout against the release's,
a pip installed offline by ensurepip, and so on.

One file for 2.7 and 3.x:

    python Lib-tests/test_modules.py -v
    python -m unittest discover -s Lib-tests -p 'test_*.py'

Every test is bounded in time (SIGALRM, and a kill timer for subprocesses);
every skip names its reason.
"""
from __future__ import print_function

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

PY3 = sys.version_info[0] >= 3

# Seconds each test may take; the ensurepip tests install pip from its
# bundled wheel, which takes a while on a slow machine.
TIME_LIMIT = 60
ENSUREPIP_TIME_LIMIT = 300


class TestTimedOut(Exception):
    pass


def which(name):
    """shutil.which() for 2.7 as well."""
    for d in os.environ.get('PATH', os.defpath).split(os.pathsep):
        path = os.path.join(d or os.curdir, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def run(cmd, timeout, env=None, cwd=None):
    """Run cmd; return (returncode, output).  Kill it after timeout seconds
    (subprocess has no timeout argument on 2.7)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, cwd=cwd)
    killed = []

    def kill():
        killed.append(True)
        try:
            proc.kill()
        except OSError:
            pass
    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    try:
        out = proc.communicate()[0]
    finally:
        timer.cancel()
    out = out.decode('utf-8', 'replace')
    if killed:
        raise TestTimedOut('%s did not finish in %ss; output so far:\n%s'
                           % (' '.join(cmd), timeout, out))
    return proc.returncode, out


def clean_env(**extra):
    """The environment for a child interpreter or pip: no user config."""
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith(('PYTHON', 'PIP_', 'VIRTUAL_ENV')))
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK='1',
               PIP_NO_INDEX='1', PIP_NO_CACHE_DIR='1')
    env.update(extra)
    return env


class BoundedTestCase(unittest.TestCase):
    """A test case whose every test is interrupted after time_limit seconds."""

    time_limit = TIME_LIMIT

    def setUp(self):
        if not hasattr(signal, 'SIGALRM'):
            return
        limit = self.time_limit

        def expired(signum, frame):
            raise TestTimedOut('test did not finish in %ss' % limit)
        old = signal.signal(signal.SIGALRM, expired)
        signal.alarm(limit)

        def restore():
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
        self.addCleanup(restore)

    def tempdir(self):
        path = tempfile.mkdtemp(prefix='gcfreeze-modules-')
        self.addCleanup(shutil.rmtree, path, True)
        return path


# --- ssl -------------------------------------------------------------------

try:
    import ssl
except ImportError as exc:
    ssl = None
    SSL_MISSING = 'the ssl module does not import: %s' % exc
else:
    SSL_MISSING = ''

OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
x509_extensions = v3
prompt = no
[dn]
CN = localhost
[v3]
subjectAltName = DNS:localhost, IP:127.0.0.1
"""


def read_line(sock):
    data = b''
    while not data.endswith(b'\n'):
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


@unittest.skipIf(ssl is None, SSL_MISSING)
class SSLTest(BoundedTestCase):

    def test_openssl_version(self):
        self.assertTrue(ssl.OPENSSL_VERSION.startswith(('OpenSSL', 'LibreSSL')),
                        ssl.OPENSSL_VERSION)
        self.assertGreater(ssl.OPENSSL_VERSION_NUMBER, 0)

    def test_default_context_loads_system_ca_store(self):
        paths = ssl.get_default_verify_paths()
        if not (paths.cafile or paths.capath):
            self.skipTest('no system CA store: neither %s nor %s exists'
                          % (paths.openssl_cafile, paths.openssl_capath))
        ctx = ssl.create_default_context()
        self.assertEqual(ctx.verify_mode, ssl.CERT_REQUIRED)
        self.assertTrue(ctx.check_hostname)
        if paths.cafile:
            # a CA file is read when the context is made; a directory only
            # on demand, so only the file shows in the counts
            self.assertGreater(ctx.cert_store_stats()['x509_ca'], 0,
                               'no CA certificate loaded from %s' % paths.cafile)
            self.assertGreater(len(ctx.get_ca_certs()), 0)

    def make_certificate(self):
        openssl = which('openssl')
        if openssl is None:
            self.skipTest('the openssl command line tool is not on PATH: '
                          'cannot make a self-signed certificate')
        d = self.tempdir()
        config = os.path.join(d, 'req.cnf')
        with open(config, 'w') as f:
            f.write(OPENSSL_CONFIG)
        cert = os.path.join(d, 'cert.pem')
        key = os.path.join(d, 'key.pem')
        rc, out = run([openssl, 'req', '-x509', '-newkey', 'rsa:2048',
                       '-nodes', '-sha256', '-days', '2', '-config', config,
                       '-keyout', key, '-out', cert], timeout=40,
                      env=dict(os.environ, OPENSSL_CONF=config))
        self.assertEqual(rc, 0, 'openssl req failed:\n' + out)
        return cert, key

    def contexts(self, cert, key):
        protocol = getattr(ssl, 'PROTOCOL_TLS', ssl.PROTOCOL_SSLv23)
        server_ctx = ssl.SSLContext(protocol)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.SSLContext(protocol)
        client_ctx.verify_mode = ssl.CERT_REQUIRED
        client_ctx.check_hostname = True
        client_ctx.load_verify_locations(cert)
        return server_ctx, client_ctx

    def serve(self, server_ctx, handle=None):
        """Start a one-connection TLS server on 127.0.0.1 that runs
        handle(tls) (default: echo a line upper-cased); return its port, its
        thread and its list of errors."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        listener.settimeout(30)
        errors = []

        def serve():
            try:
                conn, _ = listener.accept()
                conn.settimeout(30)
                tls = server_ctx.wrap_socket(conn, server_side=True)
                try:
                    if handle is None:
                        tls.sendall(read_line(tls).upper())
                    else:
                        handle(tls)
                finally:
                    tls.close()
            except Exception as exc:
                errors.append('server: %r' % (exc,))
        thread = threading.Thread(target=serve)
        thread.daemon = True
        thread.start()
        return listener.getsockname()[1], thread, errors

    def test_tls_handshake_with_local_server(self):
        cert, key = self.make_certificate()
        server_ctx, client_ctx = self.contexts(cert, key)
        port, thread, errors = self.serve(server_ctx)
        sock = socket.create_connection(('127.0.0.1', port), timeout=30)
        tls = client_ctx.wrap_socket(sock, server_hostname='localhost')
        try:
            tls.sendall(b'hello over tls\n')
            reply = read_line(tls)
            peer = tls.getpeercert()
            cipher = tls.cipher()
            version = tls.version() if hasattr(tls, 'version') else cipher[1]
        finally:
            tls.close()
        thread.join(30)
        self.assertFalse(thread.is_alive(), 'the server thread did not finish')
        self.assertEqual(errors, [])
        self.assertEqual(reply, b'HELLO OVER TLS\n')
        self.assertIn((('commonName', 'localhost'),), peer['subject'])
        self.assertIn(('DNS', 'localhost'), peer['subjectAltName'])
        self.assertIsNotNone(cipher)
        self.assertTrue(version and version.startswith('TLS'), version)

    def test_ragged_eof_is_suppressed(self):
        """A server that closes TCP without close_notify: recv() returns b''
        (suppress_ragged_eofs), as with OpenSSL 1.1, not an SSLError."""
        cert, key = self.make_certificate()
        server_ctx, client_ctx = self.contexts(cert, key)

        def unterminated(tls):
            tls.sendall(b'unterminated')
            # SSLSocket.shutdown() shuts the TCP connection down
            # without sending close_notify
            tls.shutdown(socket.SHUT_RDWR)
        port, thread, errors = self.serve(server_ctx, unterminated)
        sock = socket.create_connection(('127.0.0.1', port), timeout=30)
        tls = client_ctx.wrap_socket(sock, server_hostname='localhost')
        try:
            data = b''.join(iter(lambda: tls.recv(1024), b''))
        finally:
            tls.close()
        thread.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(data, b'unterminated')

    def test_hostname_mismatch_is_refused(self):
        cert, key = self.make_certificate()
        server_ctx, client_ctx = self.contexts(cert, key)
        port, thread, errors = self.serve(server_ctx)
        sock = socket.create_connection(('127.0.0.1', port), timeout=30)
        try:
            # the certificate names localhost and 127.0.0.1 only
            self.assertRaises(ssl.CertificateError, client_ctx.wrap_socket,
                              sock, server_hostname='example.org')
        finally:
            sock.close()
        thread.join(30)    # the server sees the client give up: no check


# --- hashlib ---------------------------------------------------------------

try:
    import _hashlib
except ImportError as exc:
    _hashlib = None
    HASHLIB_OPENSSL_MISSING = '_hashlib (hashlib on OpenSSL) does not import: %s' % exc
else:
    HASHLIB_OPENSSL_MISSING = ''

MILLION_A = 'one million times a'   # stands for b'a' * 1000000
MESSAGES = (b'', b'abc', MILLION_A)

# Published known-answer vectors, by OpenSSL's name of the digest:
#   md4        RFC 1320 A.5                md5      RFC 1321 A.5
#   sha1, sha256, sha384, sha512: FIPS 180-2 appendices (one million a too)
#   sha224     RFC 3874 3.1-3.3 (abc, one million a); b'' from NIST CSRC
#              examples, as for sha512-224, sha512-256 and sha3-* (FIPS 202)
#   shake128, shake256: NIST CSRC FIPS 202 examples, 256/512 bits
#   ripemd160  Dobbertin, Bosselaers, Preneel: the RIPEMD-160 page
#   whirlpool  Barreto, Rijmen: ISO/IEC 10118-3 test vectors
#   blake2b512, blake2s256: RFC 7693 appendices A, B (abc); b'' from the
#              BLAKE2 reference implementation's KAT files
#   sm3        GB/T 32905-2016 example 1 (abc); b'' from the OSCCA examples
# A message a source does not give is compared with the host's
# `openssl dgst`, a second implementation.
DIGEST_VECTORS = {
    'md4': {
        b'': '31d6cfe0d16ae931b73c59d7e0c089c0',
        b'abc': 'a448017aaf21d8525fc10ae87aa6729d'},
    'md5': {
        b'': 'd41d8cd98f00b204e9800998ecf8427e',
        b'abc': '900150983cd24fb0d6963f7d28e17f72'},
    'sha1': {
        b'': 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
        b'abc': 'a9993e364706816aba3e25717850c26c9cd0d89d',
        MILLION_A: '34aa973cd4c4daa4f61eeb2bdbad27316534016f'},
    'sha224': {
        b'': 'd14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f',
        b'abc': '23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7',
        MILLION_A: '20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67'},
    'sha256': {
        b'': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        b'abc': 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
        MILLION_A: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'},
    'sha384': {
        b'': '38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da'
             '274edebfe76f65fbd51ad2f14898b95b',
        b'abc': 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed'
                '8086072ba1e7cc2358baeca134c825a7',
        MILLION_A: '9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b'
                   '07b8b3dc38ecc4ebae97ddd87f3d8985'},
    'sha512': {
        b'': 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce'
             '47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
        b'abc': 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a'
                '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
        MILLION_A: 'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb'
                   'de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b'},
    'sha512-224': {
        b'': '6ed0dd02806fa89e25de060c19d3ac86cabb87d6a0ddd05c333b84f4',
        b'abc': '4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa'},
    'sha512-256': {
        b'': 'c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a',
        b'abc': '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23'},
    'sha3-224': {
        b'': '6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7',
        b'abc': 'e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf'},
    'sha3-256': {
        b'': 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a',
        b'abc': '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532'},
    'sha3-384': {
        b'': '0c63a75b845e4f7d01107d852e4c2485c51a50aaaa94fc61995e71bbee983a2a'
             'c3713831264adb47fb6bd1e058d5f004',
        b'abc': 'ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2'
                '98d88cea927ac7f539f1edf228376d25'},
    'sha3-512': {
        b'': 'a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6'
             '15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26',
        b'abc': 'b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e'
                '10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0'},
    'shake128': {
        b'': '7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26',
        b'abc': '5881092dd818bf5cf8a3ddb793fbcba74097d5c526a6d35f97b83351940f2cc8'},
    'shake256': {
        b'': '46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f'
             'd75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be',
        b'abc': '483366601360a8771c6863080cc4114d8db44530f8f1e1ee4f94ea37e78b5739'
                'd5a15bef186a5386c75744c0527e1faa9f8726e462a12a4feb06bd8801e751e4'},
    'ripemd160': {
        b'': '9c1185a5c5e9fc54612808977ee8f548b2258d31',
        b'abc': '8eb208f7e05d987a9b044a8e98c6b087f15a0bfc',
        MILLION_A: '52783243c1697bdbe16d37f97f68f08325dc1528'},
    'whirlpool': {
        b'': '19fa61d75522a4669b44e39c1d2e1726c530232130d407f89afee0964997f7a7'
             '3e83be698b288febcf88e3e03c4f0757ea8964e59b63d93708b138cc42a66eb3',
        b'abc': '4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c'
                '7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5',
        MILLION_A: '0c99005beb57eff50a7cf005560ddf5d29057fd86b20bfd62deca0f1ccea4af5'
                   '1fc15490eddc47af32bb2b66c34ff9ad8c6008ad677f77126953b226e4ed8b01'},
    'blake2b512': {
        b'': '786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419'
             'd25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce',
        b'abc': 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1'
                '7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923'},
    'blake2s256': {
        b'': '69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9',
        b'abc': '508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982'},
    'sm3': {
        b'': '1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b',
        b'abc': '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0'},
}
# md5-sha1 (TLS 1.0's PRF hash, RFC 2246 5) is MD5 followed by SHA-1
DIGEST_VECTORS['md5-sha1'] = dict(
    (m, DIGEST_VECTORS['md5'][m] + DIGEST_VECTORS['sha1'][m])
    for m in DIGEST_VECTORS['md5'] if m in DIGEST_VECTORS['sha1'])

# Python's own spellings (3.6's builtin _sha3 and _blake2, 3.x hashlib)
PYTHON_DIGEST_NAMES = {
    'sha3_224': 'sha3-224', 'sha3_256': 'sha3-256', 'sha3_384': 'sha3-384',
    'sha3_512': 'sha3-512', 'shake_128': 'shake128', 'shake_256': 'shake256',
    'blake2b': 'blake2b512', 'blake2s': 'blake2s256',
    'sha512_224': 'sha512-224', 'sha512_256': 'sha512-256',
}
XOF_DIGESTS = ('shake128', 'shake256')
# names OpenSSL knows or knew that a host may leave out: each is either
# listed in hashlib.algorithms_available and right, or refused
OPTIONAL_DIGESTS = ('md4', 'whirlpool', 'mdc2', 'md2', 'ripemd160', 'sm3',
                    'md5-sha1', 'sha512-224', 'sha512-256', 'blake2b512',
                    'blake2s256', 'sha3-256', 'shake128', 'no-such-digest')


def canonical_digest(name):
    name = name.lower()
    return PYTHON_DIGEST_NAMES.get(name, name)


# RFC 4231 section 4, test cases 1, 2 and 6: "case N", then each digest's
# name and HMAC in hex (a long one goes on over the next line).
RFC4231_HMACS = """
case 1  sha224  896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22
        sha256  b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7
        sha384  afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6
                82aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6
        sha512  87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde
                daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854
case 2  sha224  a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44
        sha256  5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
        sha384  af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47
                e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649
        sha512  164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554
                9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737
case 6  sha224  95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e
        sha256  60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54
        sha384  4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f
                3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952
        sha512  80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352
                6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598
"""


def parse_hmacs(text):
    """[(case, digest name, hex HMAC)] from a table as RFC4231_HMACS."""
    rows = []
    words = iter(text.split())
    for word in words:
        if word == 'case':
            case = next(words)
        elif word.startswith('sha'):
            rows.append([case, word, ''])
        else:
            rows[-1][2] += word
    return [tuple(row) for row in rows]


def message_bytes(message):
    return b'a' * 1000000 if message == MILLION_A else message


def hexdigest(h, nbytes):
    """h.hexdigest(); the builtin SHAKE objects want the length in bytes."""
    try:
        return h.hexdigest()
    except TypeError:
        return h.hexdigest(nbytes)


_openssl_dgst_cache = {}


def openssl_dgst(name, message):
    """The hex digest the host's openssl command computes, or None."""
    key = (name, message)
    if key not in _openssl_dgst_cache:
        _openssl_dgst_cache[key] = _run_openssl_dgst(name, message_bytes(message))
    return _openssl_dgst_cache[key]


def _run_openssl_dgst(name, data):
    openssl = which('openssl')
    if openssl is None:
        return None
    # OpenSSL 3 has md4, whirlpool, ... in its legacy provider; OpenSSL
    # 3.4+ gives an XOF no default length (-xoflen, in bytes, since 3.0)
    extras = [[], ['-provider', 'legacy', '-provider', 'default']]
    if name in XOF_DIGESTS:
        extras.append(['-xoflen', '64'])
    for extra in extras:
        proc = subprocess.Popen([openssl, 'dgst'] + extra + ['-' + name],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        out = proc.communicate(data)[0].decode('ascii', 'replace').split()
        if proc.returncode == 0 and out:
            return out[-1].lower()
    return None


def reference_digest(name, message):
    """(expected hex digest, where it comes from) or (None, None)."""
    published = DIGEST_VECTORS.get(name, {}).get(message)
    if published is not None:
        return published, 'published'
    computed = openssl_dgst(name, message)
    if computed is not None:
        return computed, 'openssl dgst'
    return None, None


def same_digest(name, got, expected):
    if name in XOF_DIGESTS:
        # an XOF's shorter output is a prefix of its longer one
        n = min(len(got), len(expected))
        return n >= 32 and got[:n] == expected[:n]
    return got == expected


class HashlibTest(BoundedTestCase):

    def names(self):
        import hashlib
        return sorted(set(hashlib.algorithms_guaranteed) |
                      set(hashlib.algorithms_available))

    def test_known_answers(self):
        """Every listed name hashes b'', b'abc' and a million a's to the
        published value (or, where none is published, openssl dgst's)."""
        import hashlib
        failures = []
        checked = 0
        for name in self.names():
            ref_name = canonical_digest(name)
            for message in MESSAGES:
                expected, source = reference_digest(ref_name, message)
                if expected is None:
                    continue    # test_every_name_has_a_reference says so
                data = message_bytes(message)
                nbytes = len(expected) // 2
                made = [('new', hashlib.new(name, data))]
                if hasattr(hashlib, name):
                    made.append(('constructor', getattr(hashlib, name)(data)))
                chunked = hashlib.new(name)
                for i in range(0, len(data), 65536):
                    chunked.update(data[i:i + 65536])
                made.append(('update', chunked))
                made.append(('copy', chunked.copy()))
                for how, h in made:
                    got = hexdigest(h, nbytes)
                    checked += 1
                    if not same_digest(ref_name, got, expected):
                        failures.append('%s(%r) via %s: %s, %s value %s'
                                        % (name, message, how, got, source,
                                           expected))
        self.assertEqual(failures, [], '\n'.join(failures))
        self.assertGreater(checked, 0)

    def test_every_name_has_a_reference(self):
        missing = []
        for name in self.names():
            for message in MESSAGES:
                if reference_digest(canonical_digest(name), message)[0] is None:
                    missing.append('%s(%s)' % (name, message))
        if missing:
            self.skipTest('no published vector, and the host\'s openssl dgst '
                          'does not have the digest: ' + ', '.join(missing))

    def test_unavailable_names_are_refused(self):
        """A name missing from algorithms_available raises ValueError (as
        in 3.7) wherever a digest is named: no hash of unwritten memory."""
        import hashlib
        import hmac
        available = set(canonical_digest(n) for n in hashlib.algorithms_available)
        for name in OPTIONAL_DIGESTS:
            if name in available:
                continue
            self.assertRaises(ValueError, hashlib.new, name)
            try:
                hashlib.new(name, b'abc')
            except ValueError as exc:
                self.assertIn('unsupported hash type', str(exc))
            else:
                self.fail('hashlib.new(%r) did not raise ValueError' % name)
            if _hashlib is not None:
                self.assertRaises(ValueError, _hashlib.new, name)
                self.assertRaises(ValueError, _hashlib.new, name, b'abc')
            self.assertRaises(ValueError, hmac.new, b'key', b'msg',
                              lambda d=b'', n=name: hashlib.new(n, d))
            if PY3:     # 3.4 and later take the digest's name
                self.assertRaises(ValueError, hmac.new, b'key', b'msg', name)
            if hasattr(hashlib, 'pbkdf2_hmac'):
                self.assertRaises(ValueError, hashlib.pbkdf2_hmac, name,
                                  b'password', b'salt', 1)

    def test_available_names_are_listed_by_openssl(self):
        """algorithms_available is made of what new() can make: each name
        OpenSSL lists works, and the guaranteed ones are listed."""
        import hashlib
        for name in hashlib.algorithms_available:
            hashlib.new(name, b'abc')       # must not raise
        self.assertTrue(set(hashlib.algorithms_guaranteed) <=
                        set(hashlib.algorithms_available))

    @unittest.skipIf(_hashlib is None, HASHLIB_OPENSSL_MISSING)
    def test_openssl_backs_hashlib(self):
        import hashlib
        self.assertTrue(_hashlib.openssl_md_meth_names,
                        'OpenSSL lists no digests')
        self.assertTrue(set(_hashlib.openssl_md_meth_names) <=
                        set(hashlib.algorithms_available))
        for name in ('md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'):
            self.assertTrue(hasattr(_hashlib, 'openssl_' + name), name)
            # hashlib's named constructors are OpenSSL's
            self.assertIs(getattr(hashlib, name),
                          getattr(_hashlib, 'openssl_' + name))
        self.assertIs(type(hashlib.new('sha256')), type(_hashlib.new('sha256')))
        self.assertIs(type(hashlib.sha256()), type(_hashlib.new('sha256')))
        if hasattr(_hashlib, 'pbkdf2_hmac'):
            self.assertIs(hashlib.pbkdf2_hmac, _hashlib.pbkdf2_hmac)

    def check_hmac(self, vectors):
        import binascii
        import hashlib
        import hmac
        for key, msg, name, expected in vectors:
            mac = hmac.new(key, msg, getattr(hashlib, name))
            self.assertEqual(mac.hexdigest(), expected, (name, key, msg))
            self.assertEqual(binascii.hexlify(mac.digest()).decode('ascii'),
                             expected)

    def test_hmac_rfc4231(self):
        """RFC 4231 test cases 1, 2 and 6 (key longer than a block)."""
        inputs = {
            '1': (b'\x0b' * 20, b'Hi There'),
            '2': (b'Jefe', b'what do ya want for nothing?'),
            '6': (b'\xaa' * 131, b'Test Using Larger Than Block-Size Key - Hash Key First'),
        }
        vectors = [inputs[case] + (name, expected)
                   for case, name, expected in parse_hmacs(RFC4231_HMACS)]
        self.assertEqual(len(vectors), 12)  # the table read as written
        self.check_hmac(vectors)

    def test_hmac_rfc2202(self):
        """RFC 2202 test cases 1, 2 and 6 for HMAC-MD5 and HMAC-SHA-1."""
        m6 = b'Test Using Larger Than Block-Size Key - Hash Key First'
        self.check_hmac([
            (b'\x0b' * 16, b'Hi There', 'md5', '9294727a3638bb1c13f48ef8158bfc9d'),
            (b'Jefe', b'what do ya want for nothing?', 'md5',
             '750c783e6ab0b503eaa86e310a5db738'),
            (b'\xaa' * 80, m6, 'md5', '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd'),
            (b'\x0b' * 20, b'Hi There', 'sha1',
             'b617318655057264e28bc0b6fb378c8ef146be00'),
            (b'Jefe', b'what do ya want for nothing?', 'sha1',
             'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79'),
            (b'\xaa' * 80, m6, 'sha1', 'aa4ae5e15272d00e95705637ce8a3b55ed402112'),
        ])

    def check_pbkdf2(self, vectors):
        import binascii
        import hashlib
        if not hasattr(hashlib, 'pbkdf2_hmac'):
            self.skipTest('hashlib.pbkdf2_hmac is missing (Python < 2.7.8)')
        for name, password, salt, rounds, dklen, expected in vectors:
            dk = hashlib.pbkdf2_hmac(name, password, salt, rounds, dklen)
            self.assertEqual(binascii.hexlify(dk).decode('ascii'), expected,
                             (name, password, salt, rounds))

    def test_pbkdf2_hmac_rfc6070(self):
        """RFC 6070, PBKDF2-HMAC-SHA1 (all but the 16777216-round case,
        which takes a minute on a slow machine)."""
        self.check_pbkdf2([
            ('sha1', b'password', b'salt', 1, 20,
             '0c60c80f961f0e71f3a9b524af6012062fe037a6'),
            ('sha1', b'password', b'salt', 2, 20,
             'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957'),
            ('sha1', b'password', b'salt', 4096, 20,
             '4b007901b765489abead49d926f721d065a429c1'),
            ('sha1', b'passwordPASSWORDpassword',
             b'saltSALTsaltSALTsaltSALTsaltSALTsalt', 4096, 25,
             '3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038'),
            ('sha1', b'pass\0word', b'sa\0lt', 4096, 16,
             '56fa6aa75548099dcc37d7f03425e0c3'),
        ])

    def test_pbkdf2_hmac_sha256(self):
        """RFC 7914 11 (scrypt's PBKDF2-HMAC-SHA256 vectors)."""
        self.check_pbkdf2([
            ('sha256', b'passwd', b'salt', 1, 64,
             '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc'
             '49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783'),
            ('sha256', b'Password', b'NaCl', 80000, 64,
             '4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56'
             'a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d'),
        ])


# --- ctypes ----------------------------------------------------------------

class CtypesTest(BoundedTestCase):

    def libc(self):
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library('c')
        return ctypes.CDLL(name)    # None: the symbols of the process

    def test_libc_call(self):
        import ctypes
        libc = self.libc()
        libc.strlen.argtypes = [ctypes.c_char_p]
        libc.strlen.restype = ctypes.c_size_t
        self.assertEqual(libc.strlen(b'gcfreeze'), 8)
        libc.labs.argtypes = [ctypes.c_long]
        libc.labs.restype = ctypes.c_long
        self.assertEqual(libc.labs(-42), 42)

    def test_callback_from_qsort(self):
        import ctypes
        libc = self.libc()
        calls = []
        CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                               ctypes.POINTER(ctypes.c_int))

        def compare(a, b):
            calls.append(1)
            return (a[0] > b[0]) - (a[0] < b[0])
        callback = CMP(compare)
        values = [5, 1, 4, 2, 3, 9, 0, 7, 8, 6]
        array = (ctypes.c_int * len(values))(*values)
        libc.qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                               ctypes.c_size_t, CMP]
        libc.qsort.restype = None
        libc.qsort(array, len(array), ctypes.sizeof(ctypes.c_int), callback)
        self.assertEqual(list(array), sorted(values))
        self.assertTrue(calls)

    def release_layout(self):
        """CDataObject and PyCFuncPtrObject (Modules/_ctypes/ctypes.h of
        2.7-3.10) laid out by ctypes' own rules, which follow the C
        compiler's: the release's sizes and offsets."""
        import ctypes
        P = ctypes.c_void_p

        class Value(ctypes.Union):      # union value
            _fields_ = [('c', ctypes.c_char * 16), ('s', ctypes.c_short),
                        ('i', ctypes.c_int), ('l', ctypes.c_long),
                        ('f', ctypes.c_float), ('d', ctypes.c_double),
                        ('ll', ctypes.c_longlong), ('D', ctypes.c_longdouble)]
        head = [('ob_head', P * (object.__basicsize__ // ctypes.sizeof(P)))]
        cdata = head + [('b_ptr', P), ('b_needsfree', ctypes.c_int),
                        ('b_base', P), ('b_size', ctypes.c_ssize_t),
                        ('b_length', ctypes.c_ssize_t),
                        ('b_index', ctypes.c_ssize_t), ('b_objects', P),
                        ('b_value', Value)]
        funcptr = cdata + [(n, P) for n in ('thunk', 'callable', 'converters',
                                            'argtypes', 'restype', 'checker',
                                            'errcheck')]
        if sys.platform == 'win32':
            funcptr += [('index', ctypes.c_int), ('iid', P)]
        funcptr += [('paramflags', P)]

        class CData(ctypes.Structure):
            _fields_ = cdata

        class CFuncPtr(ctypes.Structure):
            _fields_ = funcptr
        return CData, CFuncPtr

    def test_layout_is_the_release_s(self):
        """The compat series keeps the ABI: a ctypes object has the size,
        and its value buffer the offset, of the release built anywhere."""
        import ctypes
        CData, CFuncPtr = self.release_layout()
        for base in (ctypes._SimpleCData, ctypes.Structure, ctypes.Union,
                     ctypes.Array, ctypes._Pointer):
            self.assertEqual(base.__basicsize__, ctypes.sizeof(CData), base)
        self.assertEqual(ctypes._CFuncPtr.__basicsize__,
                         ctypes.sizeof(CFuncPtr))

        class S(ctypes.Structure):
            _fields_ = [('c', ctypes.c_char), ('d', ctypes.c_double)]
        # a small object's data live in b_value, inside the object
        for obj in (ctypes.c_int(5), ctypes.c_double(0.5), S()):
            self.assertEqual(ctypes.addressof(obj) - id(obj),
                             CData.b_value.offset, type(obj))

    @unittest.skipUnless(sys.version_info < (3, 11),
                         '3.11 keeps the __dict__ pointer out of the object')
    def test_c_int_basicsize(self):
        """c_int and friends add __dict__ and __weakref__ to CDataObject:
        112 bytes on x86-64 (2.7-3.10 built anywhere)."""
        import ctypes
        import platform
        CData = self.release_layout()[0]
        expected = ctypes.sizeof(CData) + 2 * ctypes.sizeof(ctypes.c_void_p)
        for cls in (ctypes.c_int, ctypes.c_double, ctypes.c_char_p):
            self.assertEqual(cls.__basicsize__, expected, cls)
        if (platform.machine() in ('x86_64', 'AMD64')
                and ctypes.sizeof(ctypes.c_void_p) == 8
                and object.__basicsize__ == 16):
            self.assertEqual(ctypes.c_int.__basicsize__, 112)
            self.assertEqual(CData.b_value.offset, 80)

    def test_structure_with_long_double(self):
        import ctypes

        class S(ctypes.Structure):
            _fields_ = [('c', ctypes.c_char), ('x', ctypes.c_longdouble)]
        objs = [S(b'a', i / 4.0) for i in range(64)]
        self.assertEqual([o.x for o in objs], [i / 4.0 for i in range(64)])


# --- the other extension modules -------------------------------------------

class StdlibModulesTest(BoundedTestCase):

    def test_sqlite3(self):
        import sqlite3
        con = sqlite3.connect(':memory:')
        self.addCleanup(con.close)
        con.execute('create table t (k integer primary key, v text)')
        con.executemany('insert into t (v) values (?)',
                        [(u'a',), (u'b',), (u'\u00e9',)])
        rows = con.execute('select k, v from t order by k').fetchall()
        self.assertEqual(rows, [(1, u'a'), (2, u'b'), (3, u'\u00e9')])
        self.assertTrue(sqlite3.sqlite_version)
        # build.sh configures --enable-loadable-sqlite-extensions (2.7 has
        # no such option: its setup.py always leaves them out)
        import sysconfig
        configured = sysconfig.get_config_var('CONFIG_ARGS') or ''
        if PY3 and '--enable-loadable-sqlite-extensions' in configured:
            self.assertTrue(hasattr(con, 'enable_load_extension'))

    def test_zlib(self):
        import zlib
        data = b'gc.freeze() ' * 1000
        packed = zlib.compress(data, 9)
        self.assertLess(len(packed), len(data) // 10)
        self.assertEqual(zlib.decompress(packed), data)
        self.assertEqual(zlib.crc32(b'hello') & 0xffffffff, 0x3610a686)

    def test_bz2(self):
        import bz2
        data = b'gc.freeze() ' * 1000
        packed = bz2.compress(data)
        self.assertLess(len(packed), len(data) // 10)
        self.assertEqual(bz2.decompress(packed), data)

    @unittest.skipUnless(PY3, 'lzma is not in the Python 2.7 standard library')
    def test_lzma(self):
        import lzma
        data = b'gc.freeze() ' * 1000
        for fmt in (lzma.FORMAT_XZ, lzma.FORMAT_ALONE):
            packed = lzma.compress(data, format=fmt)
            self.assertLess(len(packed), len(data) // 10)
            self.assertEqual(lzma.decompress(packed), data)

    def test_readline(self):
        import readline
        readline.clear_history()
        readline.add_history('gc.freeze()')
        self.assertEqual(readline.get_current_history_length(), 1)
        self.assertEqual(readline.get_history_item(1), 'gc.freeze()')
        readline.clear_history()
        self.assertTrue(readline.__doc__)

    def test_curses(self):
        import curses
        import curses.ascii
        import curses.panel
        import curses.textpad
        import _curses
        # no terminal needed: constants and pure functions only
        self.assertTrue(issubclass(curses.error, Exception))
        self.assertIs(curses.error, _curses.error)
        self.assertNotEqual(curses.A_BOLD, 0)
        self.assertGreater(curses.KEY_UP, 255)
        self.assertTrue(curses.version)
        self.assertTrue(curses.ascii.isdigit('7'))
        self.assertTrue(hasattr(curses.panel, 'new_panel'))

    def test_decimal(self):
        import decimal
        if PY3:
            import _decimal    # the C implementation (libmpdec), 3.3 and later
            self.assertIs(decimal.Decimal, _decimal.Decimal)
        D = decimal.Decimal
        self.assertEqual(D('1.1') + D('2.2'), D('3.3'))
        ctx = decimal.Context(prec=50)
        self.assertEqual(str(ctx.sqrt(D(2)))[:20], '1.414213562373095048')
        self.assertEqual(D(1) / D(8), D('0.125'))

    def test_uuid(self):
        import uuid
        u4 = uuid.uuid4()
        self.assertEqual(u4.version, 4)
        u1 = uuid.uuid1()
        self.assertEqual(u1.version, 1)
        self.assertNotEqual(uuid.uuid1(), u1)
        self.assertEqual(uuid.UUID(str(u4)), u4)
        self.assertEqual(uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'),
                         uuid.UUID('886313e1-3b8a-5372-9b90-0c9aee199e5d'))

    @unittest.skipUnless(hasattr(os, 'symlink'), 'no os.symlink')
    def test_shutil_copies_symbolic_links(self):
        """glibc 2.32's lchmod() always fails for a link: on 3.x os.lchmod
        must not exist on Linux, or shutil's symlink copies fail (EOPNOTSUPP).
        (2.7's shutil never calls it; its configure guard tests MACHDEP
        "linux", which is "linux2" there, so 2.7.18 keeps os.lchmod.)"""
        if sys.platform.startswith('linux') and sys.version_info >= (3,):
            self.assertFalse(hasattr(os, 'lchmod'),
                             'os.lchmod exists on Linux (configure found '
                             "glibc's stub)")
        top = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, top)
        src = os.path.join(top, 'src')
        os.mkdir(src)
        with open(os.path.join(src, 'file'), 'w') as f:
            f.write('x')
        os.symlink('file', os.path.join(src, 'link'))
        dst = os.path.join(top, 'dst')
        shutil.copytree(src, dst, symlinks=True)
        self.assertEqual(os.readlink(os.path.join(dst, 'link')), 'file')
        if sys.version_info >= (3, 3):
            shutil.copy2(os.path.join(src, 'link'),
                         os.path.join(top, 'link2'), follow_symlinks=False)
            self.assertTrue(os.path.islink(os.path.join(top, 'link2')))

    def test_every_built_extension_imports(self):
        """Each extension module the build produced loads: a module that
        compiled but links against a missing symbol fails here.  Those named
        in GCFREEZE_SKIP_EXTENSIONS are not tried (the image leaves _tkinter's
        libraries out, as the official slim images do)."""
        dynload = None
        for path in sys.path:
            if os.path.basename(path) == 'lib-dynload' and os.path.isdir(path):
                dynload = path
                break
        if dynload is None:
            self.skipTest('no lib-dynload directory on sys.path: '
                          'a build without shared extension modules')
        try:
            from importlib.machinery import EXTENSION_SUFFIXES
        except ImportError:     # 2.7
            import imp
            EXTENSION_SUFFIXES = [s for s, _, kind in imp.get_suffixes()
                                  if kind == imp.C_EXTENSION]
        suffixes = sorted(EXTENSION_SUFFIXES, key=len, reverse=True)
        names = set()
        for filename in os.listdir(dynload):
            for suffix in suffixes:
                if filename.endswith(suffix):
                    names.add(filename[:-len(suffix)])
                    break
        self.assertTrue(names, 'no extension module in %s' % dynload)
        names -= set(os.environ.get('GCFREEZE_SKIP_EXTENSIONS', '').split())
        code = ('import sys\n'
                'bad = []\n'
                'for name in sys.argv[1:]:\n'
                '    try:\n'
                '        __import__(name)\n'
                '    except Exception as exc:\n'
                '        bad.append("%s: %r" % (name, exc))\n'
                'print("\\n".join(bad))\n'
                'sys.exit(1 if bad else 0)\n')
        rc, out = run([sys.executable, '-c', code] + sorted(names), timeout=50)
        self.assertEqual(rc, 0, 'extension modules that do not import:\n' + out)


# --- ensurepip -------------------------------------------------------------

def pip_location(version_output):
    """'pip 19.0.3 from /x/site-packages/pip (python 3.4)' -> '/x/...'"""
    where = version_output.split(' from ', 1)[-1].rsplit(' (', 1)[0]
    return os.path.realpath(where.strip())


class EnsurepipTest(BoundedTestCase):

    time_limit = ENSUREPIP_TIME_LIMIT

    def setUp(self):
        BoundedTestCase.setUp(self)
        try:
            import ensurepip
        except ImportError as exc:
            self.skipTest('ensurepip does not import: %s' % exc)
        if hasattr(ensurepip, '_ensurepip_is_disabled_in_debian'):
            # Debian's python2.7 (ensurepip-disabled.diff) always exits there
            self.skipTest('ensurepip is disabled in Debian\'s python2.7: '
                          'pip comes from the python-pip package')
        self.ensurepip = ensurepip

    @unittest.skipUnless(PY3, 'Python 2.7 has no venv module: see test_ensurepip_user')
    def test_venv_with_pip(self):
        env_dir = os.path.join(self.tempdir(), 'venv')
        env = clean_env(HOME=self.tempdir())
        rc, out = run([sys.executable, '-m', 'venv', env_dir],
                      timeout=ENSUREPIP_TIME_LIMIT - 30, env=env)
        self.assertEqual(rc, 0, 'python -m venv failed:\n' + out)
        pip = os.path.join(env_dir, 'bin', 'pip')
        self.assertTrue(os.path.exists(pip), 'the venv has no bin/pip:\n' + out)
        rc, out = run([pip, '--version'], timeout=25, env=env)
        self.assertEqual(rc, 0, 'pip --version failed:\n' + out)
        self.assertTrue(out.startswith('pip '), out)
        self.assertIn(os.path.realpath(env_dir), pip_location(out))

    @unittest.skipIf(PY3, 'on 3.x ensurepip is checked in a venv (test_venv_with_pip)')
    def test_ensurepip_user(self):
        userbase = self.tempdir()
        env = clean_env(HOME=self.tempdir(), PYTHONUSERBASE=userbase)
        # "python -m ensurepip --user", except that the interpreter's own
        # site-packages is left off sys.path: build.sh installs pip there
        # (--with-ensurepip=install), and pip would find it and install
        # nothing into the user base.
        code = ('import os, runpy, sys\n'
                'sys.path[:] = [p for p in sys.path if os.path.basename(p)\n'
                '               not in ("site-packages", "dist-packages")]\n'
                'sys.argv[1:] = ["--user"]\n'
                'runpy.run_module("ensurepip", run_name="__main__",\n'
                '                 alter_sys=True)\n')
        rc, out = run([sys.executable, '-c', code],
                      timeout=ENSUREPIP_TIME_LIMIT - 30, env=env)
        self.assertEqual(rc, 0, 'ensurepip --user failed:\n' + out)
        pip = os.path.join(userbase, 'bin', 'pip')
        self.assertTrue(os.path.exists(pip), 'no %s:\n%s' % (pip, out))
        rc, out = run([pip, '--version'], timeout=25, env=env)
        self.assertEqual(rc, 0, 'pip --version failed:\n' + out)
        self.assertTrue(out.startswith('pip '), out)
        self.assertIn(os.path.realpath(userbase), pip_location(out))


if __name__ == '__main__':
    unittest.main()
