// uni-mp-weixin's vite `inject` option: a free `uni` in any bundled module is uni.api.esm.js's
// default export (`wx` is left to the global, which uni.api.esm.js replaces with the same copy).
export { default as uni } from '@dcloudio/uni-mp-weixin/dist/uni.api.esm.js';
