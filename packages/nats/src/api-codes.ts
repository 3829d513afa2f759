/**
 * JetStream API error codes we test for that `JetStreamApiCodes` (@nats-io/jetstream 3) does not name, by their
 * names in the server's errors.json. Use `JetStreamApiCodes` for the ones it names.
 */
export const UnnamedJetStreamApiCodes = {
  /** JSClusterNoPeersErr: insufficient resources (replicas down). */
  ClusterNoPeers: 10005,
  /** JSClusterNotAvailErr: JetStream system temporarily unavailable. */
  ClusterNotAvailable: 10008,
  /** JSStreamNameExistErr: a stream of that name exists (with another config). */
  StreamNameExist: 10058,
  /** JSStreamOfflineErr. */
  StreamOffline: 10118,
  /** JSConsumerOfflineErr. */
  ConsumerOffline: 10119,
} as const;
