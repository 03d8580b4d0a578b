/** Types for cluster-key-slot (ioredis's own slot hashing), which ships none. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0 to 16383) of a key, honouring a `{hash tag}`. */
  export default function calculateSlot(key: string): number
}
