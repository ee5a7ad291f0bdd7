"""Smoke tests for the extension modules a drop-in interpreter must have.

A stock 2.7-3.6 release built on a current distribution (Debian 12: OpenSSL
3, gcc 12, glibc without Sun RPC) silently leaves out or breaks some of them;
patches/X.Y/compat fixes that.  These tests prove the result works, not just
that it imports: a real TLS handshake, hashes from OpenSSL, a C callback
through ctypes, a pip installed offline by ensurepip, and so on.

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
            data = b''
            while True:
                chunk = tls.recv(1024)
                if not chunk:
                    break
                data += chunk
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

class HashlibTest(BoundedTestCase):

    def test_sha256(self):
        import hashlib
        self.assertEqual(
            hashlib.sha256(b'abc').hexdigest(),
            'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')

    def test_pbkdf2_hmac(self):
        import hashlib
        dk = hashlib.pbkdf2_hmac('sha256', b'password', b'salt', 1, 32)
        self.assertEqual(
            dk, bytearray.fromhex('120fb6cffcf8b32c43e7225256c4f837'
                                  'a86548c92ccc35480805987cb70be17b'))

    def test_openssl_backs_hashlib(self):
        try:
            import _hashlib
        except ImportError as exc:
            self.fail('_hashlib (hashlib on OpenSSL) does not import: %s' % exc)
        import hashlib
        self.assertTrue(_hashlib.openssl_md_meth_names,
                        'OpenSSL lists no digests')
        for name in ('md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'):
            self.assertTrue(hasattr(_hashlib, 'openssl_' + name), name)
            # hashlib's named constructors are OpenSSL's
            self.assertIs(getattr(hashlib, name),
                          getattr(_hashlib, 'openssl_' + name))
        self.assertIs(type(hashlib.new('sha256')), type(_hashlib.new('sha256')))
        self.assertIs(type(hashlib.sha256()), type(_hashlib.new('sha256')))
        if hasattr(_hashlib, 'pbkdf2_hmac'):
            self.assertIs(hashlib.pbkdf2_hmac, _hashlib.pbkdf2_hmac)
        # an algorithm only OpenSSL has: hashlib.new() falls back on it
        extra = set(_hashlib.openssl_md_meth_names) & set(['sha512_256', 'ripemd160', 'sm3', 'md5-sha1'])
        if extra:
            name = sorted(extra)[0]
            try:
                h = hashlib.new(name, b'abc')
            except ValueError:
                pass    # OpenSSL 3 keeps some of them in the legacy provider
            else:
                self.assertTrue(h.hexdigest())

    def test_hmac(self):
        import hmac
        import hashlib
        mac = hmac.new(b'key', b'The quick brown fox jumps over the lazy dog',
                       hashlib.sha256).hexdigest()
        self.assertEqual(mac, 'f7bc83f430538424b13298e6aa6fb143'
                              'ef4d59a14946175997479dbc2d1a3cd8')


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
        compiled but links against a missing symbol fails here."""
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
