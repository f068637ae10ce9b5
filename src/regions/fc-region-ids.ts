/**
 * The regions Function Compute serves, as its API names them: the keys of the `_endpointMap` of the
 * official FC SDK clients, `@alicloud/fc-open20210406` 2.0.13 (a devDependency: API 2021-04-06) and
 * the generated FC 3.0 client of API 2023-03-30 in Alibaba's `fc-20230330` SDK sources (the
 * `@alicloud/fc20230330` 4.7.6 build installed here resolves endpoints by rule and lists none). A
 * region id outside it is most likely a typo; one Alibaba opens later belongs here once the SDKs
 * list it.
 */
export const FC_REGION_IDS: readonly string[] = [
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-5',
  'ap-southeast-7',
  'cn-beijing',
  'cn-chengdu',
  'cn-hangzhou',
  'cn-hangzhou-finance',
  'cn-heyuan-acdr-1',
  'cn-hongkong',
  'cn-huhehaote',
  'cn-north-2-gov-1',
  'cn-qingdao',
  'cn-shanghai',
  'cn-shanghai-finance-1',
  'cn-shenzhen',
  'cn-wulanchabu',
  'cn-zhangjiakou',
  'eu-central-1',
  'eu-west-1',
  'me-central-1',
  'us-east-1',
  'us-west-1',
];
