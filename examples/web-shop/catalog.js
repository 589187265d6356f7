// The same fixed catalogue as examples/miniprogram-shop, so both shops produce comparable data.
export const products = [
  { sku: 'tea-001', name: 'West Lake Longjing', category: 'tea', price: 128 },
  { sku: 'tea-002', name: 'Tieguanyin', category: 'tea', price: 96 },
  { sku: 'tea-003', name: 'Pu-erh cake', category: 'tea', price: 210 },
  { sku: 'cup-001', name: 'Celadon cup', category: 'teaware', price: 45 },
  { sku: 'cup-002', name: 'Yixing teapot', category: 'teaware', price: 388 },
  { sku: 'snk-001', name: 'Osmanthus cake', category: 'snacks', price: 32 },
  { sku: 'snk-002', name: 'Mooncake gift box', category: 'snacks', price: 168 },
  { sku: 'snk-003', name: 'Sesame brittle', category: 'snacks', price: 18 },
];

export const categories = [
  { id: 'tea', name: 'Tea' },
  { id: 'teaware', name: 'Teaware' },
  { id: 'snacks', name: 'Snacks' },
];

export const bySku = (sku) => products.find((p) => p.sku === sku) || null;
export const inCategory = (id) => products.filter((p) => p.category === id);
