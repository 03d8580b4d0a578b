import { describe, expect, it } from 'vitest'
import { parseAnnouncement } from './announcement.js'

describe('parseAnnouncement', () => {
  it('splits id, type and data, keeping line breaks inside the data', () => {
    expect(parseAnnouncement('1700-2\ninvoice.paid\n{"a":"x\\ny"}')).toEqual({
      id: '1700-2',
      type: 'invoice.paid',
      data: '{"a":"x\\ny"}',
      publishedAtMs: 1700,
    })
    expect(parseAnnouncement('5-0\n\n[1,\n2]')).toEqual({
      id: '5-0',
      type: undefined,
      data: '[1,\n2]',
      publishedAtMs: 5,
    })
  })

  it('refuses a message without both separators', () => {
    expect(parseAnnouncement('5-0')).toBeUndefined()
    expect(parseAnnouncement('5-0\ntype')).toBeUndefined()
  })
})
