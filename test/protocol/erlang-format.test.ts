// Reply texts RabbitMQ builds with Erlang's ~p (and "cannot decode", with ~w), recorded from RabbitMQ 3.10 and Erlang/OTP 25.
import { describe, expect, it } from 'vitest';
import { cannotDecodeDetail, frameErrorDetail } from '../../src/protocol/erlang-format.js';

describe('Erlang ~p texts', () => {
  it.each([
    [frameErrorDetail(1, Buffer.from([0, 60, 0, 10, 0, 0, 0, 0, 0, 10, 0]), ['invalid_frame_end_marker', 0]),
      'type 1, all octets = <<0,60,0,10,0,0,0,0,0,10,0>>: {invalid_frame_end_marker,\n                                                    0}'],
    [frameErrorDetail(1, Buffer.from([0, 60, 0, 10, 0, 0, 0, 0, 0, 10]), ['invalid_frame_end_marker', 0]),
      'type 1, all octets = <<0,60,0,10,0,0,0,0,0,10>>: {invalid_frame_end_marker,0}'],
    [frameErrorDetail(1, Buffer.alloc(0), ['frame_too_large', 131073, 131064]), 'type 1, all octets = <<>>: {frame_too_large,131073,131064}'],
    [frameErrorDetail(5, Buffer.from('abcd'), 'unknown_frame'), 'type 5, all octets = <<"abcd">>: unknown_frame'],
    [frameErrorDetail(8, Buffer.alloc(0)), 'type 8, all octets = <<>>'],
    [frameErrorDetail(1, Buffer.from('abc\ndef'), 'unknown_frame'), 'type 1, all octets = <<"abc\\ndef">>: unknown_frame'],
    [frameErrorDetail(1, Buffer.from([130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146]), 'unknown_frame'),
      'type 1, first 16 octets = <<130,131,132,133,134,135,136,137,138,139,140,141,\n                            142,143,144,145>>: unknown_frame'],
    [cannotDecodeDetail(Buffer.from([0, 0, 5, 97, 98])), 'cannot decode <<0,0,5,97,98>>'],
    [cannotDecodeDetail(Buffer.from([130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 20, 20, 2])),
      'cannot decode <<130,130,130,130,130,130,130,130,130,130,130,130,130,130,20,20,2>>'],
    [cannotDecodeDetail(Buffer.from([130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 130, 20, 20, 20])),
      'cannot decode <<130,130,130,130,130,130,130,130,130,130,130,130,130,130,20,20,20>>'],
    // ~w, not ~p: printable bytes stay numbers
    [cannotDecodeDetail(Buffer.from('abcdefgh')), 'cannot decode <<97,98,99,100,101,102,103,104>>'],
  ])('%s', (ours, rabbits) => {
    expect(ours).toBe(rabbits);
  });
});
