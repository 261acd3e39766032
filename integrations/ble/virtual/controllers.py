"""bumble controllers with what the stock one lacks for a hub: per-device RSSI and connectability.

The stock controller reports every advertisement as connectable with RSSI -50 and repeats it as a
scan response. On the virtual air every advertiser is a :class:`PeripheralController`, so the
hub's :class:`HubController` looks the sender up on the link and reports it as it is, once.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import hci, ll
from bumble.controller import Controller

__all__ = ["DEFAULT_RSSI", "HubController", "PeripheralController"]

_LOGGER = logging.getLogger(__name__)

DEFAULT_RSSI = -60

_ExtType = hci.HCI_LE_Extended_Advertising_Report_Event.EventType
_LegacyType = hci.HCI_LE_Advertising_Report_Event.EventType


class PeripheralController(Controller):
    """The controller of one virtual peripheral: how loud it is and whether it accepts links."""

    rssi: int = DEFAULT_RSSI
    connectable: bool = True


class HubController(Controller):
    """The hub's controller: reports advertisements with the sender's RSSI and connectability,
    and only connects to connectable advertisers (a real controller gets no answer otherwise)."""

    def on_advertising_pdu(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        source = self.link.find_le_controller(pdu.advertiser_address)
        rssi, connectable = DEFAULT_RSSI, True
        if isinstance(source, PeripheralController):
            rssi, connectable = source.rssi, source.connectable
        if self.le_scan_enable:
            self._report(pdu, rssi, connectable)
        pending = self.pending_le_connection
        if connectable and pending is not None and pending.peer_address == pdu.advertiser_address:
            self.create_le_connection(pdu.advertiser_address)

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        # The stock controller forgets to end the pending connection, so a host whose connect
        # timed out would wait forever: end it the way the spec says (Vol 4, Part E, 7.8.13).
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        asyncio.get_running_loop().call_soon(
            self.send_hci_packet,
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            ),
        )
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def _report(self, pdu: ll.AdvInd | ll.AdvExtInd, rssi: int, connectable: bool) -> None:
        address = pdu.advertiser_address
        if self.le_features & hci.LeFeatureMask.LE_EXTENDED_ADVERTISING:
            event_type = _ExtType.LEGACY_ADVERTISING_PDU_USED
            if connectable:
                event_type |= _ExtType.CONNECTABLE_ADVERTISING | _ExtType.SCANNABLE_ADVERTISING
            report = hci.HCI_LE_Extended_Advertising_Report_Event.Report(
                event_type=event_type,
                address_type=address.address_type,
                address=address,
                primary_phy=hci.Phy.LE_1M,
                secondary_phy=0,
                advertising_sid=0xFF,
                tx_power=hci.HCI_LE_Extended_Advertising_Report_Event.TX_POWER_INFORMATION_NOT_AVAILABLE,
                rssi=rssi,
                periodic_advertising_interval=0,
                direct_address_type=0,
                direct_address=hci.Address.ANY,
                data=pdu.data,
            )
            self.send_hci_packet(hci.HCI_LE_Extended_Advertising_Report_Event([report]))
            return
        legacy = hci.HCI_LE_Advertising_Report_Event.Report(
            event_type=_LegacyType.ADV_IND if connectable else _LegacyType.ADV_NONCONN_IND,
            address_type=address.address_type,
            address=address,
            data=pdu.data,
            rssi=rssi,
        )
        self.send_hci_packet(hci.HCI_LE_Advertising_Report_Event([legacy]))

    def drop_peer_links(self, reason: int = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR) -> None:
        """This hub is gone (relay connection closed): the peripherals see their links drop."""
        for c in list(self.link.controllers):
            if c is self:
                continue
            for conn in list(c.le_connections.values()):
                if conn.peer_address in (self.random_address, self.public_address):
                    c.on_le_disconnected(conn, reason)
