// Unit tests of auth.ts: the operator token on fetches and links. Run with
// `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { authHeaders, operatorToken, setOperatorToken, withToken } from '../../src/auth';

test('without a token nothing is added', () => {
  setOperatorToken(null);
  assert.equal(operatorToken(), null);
  assert.deepEqual(authHeaders(), {});
  assert.equal(withToken('api/v1/layers/road'), 'api/v1/layers/road');
});

test('a token goes into the header and, escaped, into links', () => {
  setOperatorToken('a b&c=d');
  assert.deepEqual(authHeaders(), { Authorization: 'Bearer a b&c=d' });
  assert.equal(withToken('api/v1/layers/road/r-1'), 'api/v1/layers/road/r-1?token=a%20b%26c%3Dd');
  assert.equal(withToken('api/v1/scenarios/s1/export?format=csv'), 'api/v1/scenarios/s1/export?format=csv&token=a%20b%26c%3Dd');
  setOperatorToken(null);
});
