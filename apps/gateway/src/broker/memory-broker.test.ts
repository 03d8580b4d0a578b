import { describeBrokerContract } from './broker.contract.js'
import { MemoryBroker } from './memory-broker.js'

describeBrokerContract('memory', async (options) => new MemoryBroker(options))
