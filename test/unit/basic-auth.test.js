'use strict';
/** Unit tests of concur/basic-auth: header parsing, constant-time check, Concur's 10–50 rule. */
const assert = require('node:assert/strict');
const util = require('node:util');
const {
  parseBasicAuthorization,
  BasicAuthChecker,
  concurCredentialProblems,
  BASIC_REALM_CHALLENGE,
  BASIC_AUTH_FAILURE_TEXT,
} = require('../../dist/concur/basic-auth');

const USER = 'concur-connector';
const PASS = 'S3cret:with:colons-ü';
const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`, 'utf8').toString('base64');

describe('basic-auth', () => {
  describe('parseBasicAuthorization', () => {
    it('decodes user and password; the password may contain colons and UTF-8', () => {
      assert.deepEqual(parseBasicAuthorization(basic(USER, PASS)), { username: USER, password: PASS });
      assert.deepEqual(parseBasicAuthorization('basic   ' + Buffer.from('u:').toString('base64')), { username: 'u', password: '' });
      assert.deepEqual(parseBasicAuthorization('BASIC ' + Buffer.from(':p').toString('base64')), { username: '', password: 'p' });
    });

    it('reports a missing header', () => {
      assert.equal(parseBasicAuthorization(undefined), 'missing');
      assert.equal(parseBasicAuthorization(''), 'missing');
      assert.equal(parseBasicAuthorization('   '), 'missing');
    });

    it('reports malformed headers', () => {
      for (const h of [
        'Bearer abc.def',
        'Basic',
        'Basic ',
        'Basic !!!!',
        'Basic ' + Buffer.from('no-colon').toString('base64'),
        'Basic ' + Buffer.from('u:p').toString('base64') + ' extra',
        'Basic ' + Buffer.from('u:p').toString('base64').replace(/=+$/, '') + 'A', // wrong padding/length
        'Basic ' + Buffer.from([0x75, 0x3a, 0xff, 0xfe]).toString('base64'), // not UTF-8
        'Basic ' + 'QUFB'.repeat(2000),
        ['Basic a', 'Basic b'],
      ]) {
        assert.equal(parseBasicAuthorization(h), 'malformed', JSON.stringify(h).slice(0, 60));
      }
    });
  });

  describe('BasicAuthChecker', () => {
    const checker = new BasicAuthChecker({ username: USER, password: PASS });

    it('accepts exactly the configured credentials', () => {
      assert.deepEqual(checker.check(basic(USER, PASS)), { ok: true });
    });

    it('refuses wrong user, wrong password, prefixes, extensions and case changes', () => {
      for (const [u, p] of [
        ['someone-else', PASS],
        [USER, 'wrong-password-123'],
        [USER, PASS.slice(0, -1)],
        [USER, PASS + 'x'],
        [USER.toUpperCase(), PASS],
        [USER, ''],
        ['', ''],
      ]) {
        assert.deepEqual(checker.check(basic(u, p)), { ok: false, reason: 'mismatch' }, `${u}:${p}`);
      }
    });

    it('distinguishes missing and malformed headers', () => {
      assert.deepEqual(checker.check(undefined), { ok: false, reason: 'missing' });
      assert.deepEqual(checker.check('Basic ***'), { ok: false, reason: 'malformed' });
    });

    it('without configured credentials refuses everyone, even an empty user and password', () => {
      for (const c of [undefined, {}, { username: USER }, { password: PASS }, { username: '', password: '' }]) {
        const ch = new BasicAuthChecker(c);
        assert.equal(ch.configured, false);
        assert.deepEqual(ch.check(basic('', '')), { ok: false, reason: 'not-configured' });
        assert.deepEqual(ch.check(basic(USER, PASS)), { ok: false, reason: 'not-configured' });
      }
    });

    it('keeps no plaintext credentials (only digests)', () => {
      const dump = util.inspect(checker, { depth: 5, showHidden: true }) + JSON.stringify(checker);
      assert.ok(!dump.includes(PASS) && !dump.includes(USER), dump);
    });

    it('failure texts and the challenge contain no credential material', () => {
      assert.equal(BASIC_REALM_CHALLENGE, 'Basic realm="Concur"');
      for (const t of Object.values(BASIC_AUTH_FAILURE_TEXT)) assert.ok(!t.includes(USER) && !t.includes(PASS));
    });
  });

  describe('concurCredentialProblems', () => {
    it('accepts 10–50 characters (counted as code points)', () => {
      assert.deepEqual(concurCredentialProblems({ username: 'a'.repeat(10), password: 'b'.repeat(50) }), []);
      assert.deepEqual(concurCredentialProblems({ username: 'ü'.repeat(10), password: '🙂'.repeat(10) }), []);
    });

    it('names each field that is unset, too short or too long', () => {
      assert.deepEqual(concurCredentialProblems({}), ['user name is not set', 'password is not set']);
      const p = concurCredentialProblems({ username: 'a'.repeat(9), password: 'b'.repeat(51) });
      assert.equal(p.length, 2);
      assert.match(p[0], /user name has 9 characters/);
      assert.match(p[1], /password has 51 characters/);
      assert.ok(!p.join().includes('aaaa') && !p.join().includes('bbbb'), 'values are not echoed');
    });
  });
});
