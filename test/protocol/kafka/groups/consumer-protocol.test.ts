import { expect, it } from 'vitest';
import { AssignerProtocol } from 'kafkajs';
import { encodeSubscription, subscribedTopics } from '../../../../src/protocol/kafka/groups/consumer-protocol.js';

it('reads the topics of a subscription, whoever encoded it', () => {
  expect(subscribedTopics(encodeSubscription(['a', 'bé', 'c'], Buffer.from('ud')))).toEqual(['a', 'bé', 'c']);
  const fromKafkajs = AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ['orders', 'audit'], userData: Buffer.alloc(0) });
  expect(subscribedTopics(fromKafkajs)).toEqual(['orders', 'audit']);
});

it('returns null for bytes that are not a subscription', () => {
  const whole = encodeSubscription(['orders']);
  expect(subscribedTopics(whole.subarray(0, whole.length - 6))).toBeNull();
  expect(subscribedTopics(Buffer.from([0, 0, 0xff, 0xff, 0xff, 0xff]))).toBeNull();
  expect(subscribedTopics(Buffer.alloc(3))).toBeNull();
});
